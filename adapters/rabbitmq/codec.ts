/**
 * mqgate's messages as AMQP 0-9-1 messages and back. The body is the AMQP body; the rest rides
 * in the basic properties (message-id, a timestamp in seconds for RabbitMQ's tools) and in
 * headers of our own:
 *
 * ```
 *   mqgate-born     born timestamp, ms (a string: AMQP has no unsigned 64-bit field)
 *   mqgate-queue    the queue index mqgate chose
 *   mqgate-tag      the tag, when there is one
 *   mqgate-keys     the keys, as a JSON array of strings
 *   mqgate-props    the properties, as a JSON object of strings
 *   mqgate-retries  reconsume times of a retry copy (absent: 0)
 * ```
 * Keys and properties are JSON text, not AMQP arrays and tables: a stream queue keeps only
 * simple header values. RabbitMQ stamps no store time; a message read back gives its born time.
 */
import type { Message, Options } from 'amqplib';
import type { StoredMessage } from '../../src/message/message.js';
import type { OutboundMessage } from '../spi.js';

const H = {
  born: 'mqgate-born',
  queue: 'mqgate-queue',
  tag: 'mqgate-tag',
  keys: 'mqgate-keys',
  props: 'mqgate-props',
  retries: 'mqgate-retries',
} as const;

/** What a message is published with, besides exchange and routing key. */
export interface Encoded {
  readonly content: Buffer;
  readonly options: Options.Publish;
}

/** A message as a publish; `extra` headers go beside ours (a delay selector, retry count). */
export function encode(m: OutboundMessage, reconsumeTimes = 0, extra?: Record<string, unknown>): Encoded {
  const headers: Record<string, unknown> = {
    [H.born]: String(m.bornTimestamp),
    [H.queue]: m.queueId,
    [H.keys]: JSON.stringify(m.keys),
    [H.props]: JSON.stringify(m.properties),
    ...extra,
  };
  if (m.tag !== undefined) headers[H.tag] = m.tag;
  if (reconsumeTimes > 0) headers[H.retries] = reconsumeTimes;
  return {
    content:
      typeof m.body === 'string'
        ? Buffer.from(m.body)
        : Buffer.from(m.body.buffer, m.body.byteOffset, m.body.length),
    options: {
      persistent: true,
      messageId: m.msgId,
      timestamp: Math.floor(m.bornTimestamp / 1000),
      headers,
    },
  };
}

/** A delivered message as mqgate's (`queueOffset`: the stream offset, or -1 on a queue). */
export function decode(topic: string, msg: Message, queueOffset = -1): StoredMessage {
  const p = msg.properties;
  const h = (p.headers ?? {}) as Record<string, unknown>;
  const born = Number(h[H.born] ?? (typeof p.timestamp === 'number' ? p.timestamp * 1000 : 0));
  const k = parsed(h[H.keys]);
  const keys = Array.isArray(k) ? k.map(String) : [];
  return {
    msgId: String(p.messageId ?? ''),
    topic,
    queueId: Number(h[H.queue] ?? 0),
    queueOffset,
    commitLogOffset: -1,
    storeSize: msg.content.length,
    tag: h[H.tag] === undefined ? undefined : String(h[H.tag]),
    keys,
    properties: stringTable(parsed(h[H.props])),
    body: msg.content,
    bornTimestamp: born,
    storeTimestamp: born,
    flag: 0,
    sysFlag: 0,
    reconsumeTimes: Number(h[H.retries] ?? 0),
    preparedTransactionOffset: 0,
  };
}

/** Times RabbitMQ delivered it before (quorum queues count them in x-delivery-count). */
export function deliveryCount(msg: Message): number {
  const n = (msg.properties.headers as Record<string, unknown> | undefined)?.['x-delivery-count'];
  return typeof n === 'number' ? n : msg.fields.redelivered ? 1 : 0;
}

/** A stored message back to what it was sent as (a retry or dead-letter copy, a resend). */
export function outbound(m: StoredMessage, queueId = m.queueId): OutboundMessage {
  return {
    queueId,
    msgId: m.msgId,
    bornTimestamp: m.bornTimestamp,
    body: m.body,
    tag: m.tag,
    keys: m.keys,
    properties: m.properties,
  };
}

/** A JSON header (a Buffer where the broker kept it as bytes); absent or broken: nothing. */
function parsed(v: unknown): string[] | Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  try {
    return JSON.parse(Buffer.isBuffer(v) ? v.toString() : String(v)) as string[] | Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function stringTable(v: unknown): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
  // fromEntries makes own properties, so a key named __proto__ stays a property
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [
      k,
      Buffer.isBuffer(x) ? x.toString() : String(x),
    ]),
  );
}
