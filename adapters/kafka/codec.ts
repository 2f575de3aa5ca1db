/**
 * mqgate's messages as Kafka records and back. The body is the record value, the record key is
 * the sharding key or else the first key (so Kafka's own tools and compaction see a key), the
 * record timestamp is the born time (CreateTime: offsets by timestamp find born times), and
 * the rest rides in record headers of our own:
 *
 * ```
 *   mqgate-id       msgId
 *   mqgate-born     born timestamp, ms: read where records before this version carry it; the
 *                   record timestamp is the born time (topics mqgate makes keep CreateTime)
 *   mqgate-tag      the tag, when there is one
 *   mqgate-keys     the keys, as a JSON array of strings, when there are some
 *   mqgate-props    the properties, as a JSON object of strings, when there are some
 *   mqgate-queue    retry and DLQ copies: the queue index in the topic they came from
 *   mqgate-retries  retry and DLQ copies: reconsume times (absent: 0)
 *   mqgate-due      retry copies: when they are to be delivered again, ms
 * ```
 * The partition is mqgate's queue index, always set explicitly (never Kafka's partitioner).
 * Kafka stamps the append time only on topics with LogAppendTime; a record read back gives its
 * born time as its store time.
 */
import { createHash } from 'node:crypto';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import { Prop } from '../../src/broker/index.js';
import type { StoredMessage } from '../../src/message/message.js';
import type { OutboundMessage } from '../spi.js';

const H = {
  id: 'mqgate-id',
  born: 'mqgate-born',
  tag: 'mqgate-tag',
  keys: 'mqgate-keys',
  props: 'mqgate-props',
  queue: 'mqgate-queue',
  retries: 'mqgate-retries',
  due: 'mqgate-due',
} as const;

/** What a retry or DLQ copy carries beside the message (see the header list above). */
export interface CopyHeaders {
  readonly queueId: number;
  readonly reconsumeTimes: number;
  readonly due?: number;
}

/** A record for producer.send, with its partition set (a copy's: `partition`, and `copy` headers). */
export function encode(
  m: OutboundMessage,
  copy?: CopyHeaders & { partition: number },
): Message & { partition: number } {
  const headers: IHeaders = { [H.id]: m.msgId };
  // only where there are some: each header is encoded by kafkajs one by one, and a batch of
  // plain messages spent 18% of the gateway's time on its four (bench/backends, Kafka batch)
  if (m.keys.length > 0) headers[H.keys] = JSON.stringify(m.keys);
  if (!isEmpty(m.properties)) headers[H.props] = JSON.stringify(m.properties);
  if (m.tag !== undefined) headers[H.tag] = m.tag;
  if (copy !== undefined) {
    headers[H.queue] = String(copy.queueId);
    headers[H.retries] = String(copy.reconsumeTimes);
    if (copy.due !== undefined) headers[H.due] = String(copy.due);
  }
  const key = m.properties[Prop.SHARDING_KEY] ?? m.keys[0];
  return {
    partition: copy?.partition ?? m.queueId,
    key: key ?? null,
    value:
      typeof m.body === 'string'
        ? Buffer.from(m.body)
        : Buffer.from(m.body.buffer, m.body.byteOffset, m.body.length),
    timestamp: String(m.bornTimestamp),
    headers,
  };
}

/** Bytes a record takes on the wire, near enough to keep a produce request under a limit. */
export function recordSize(r: Message): number {
  let n = 64 + (r.value?.length ?? 0) + (typeof r.key === 'string' ? Buffer.byteLength(r.key) : 0);
  for (const [k, v] of Object.entries(r.headers ?? {}))
    n += 8 + k.length + (typeof v === 'string' ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 0);
  return n;
}

/**
 * A fetched record as mqgate's message (`queueOffset` is the record's offset). A retry or DLQ
 * copy gives its origin's queue index and its reconsume times; a record no mqgate wrote (no
 * header) gets a msgId made from where it is, the same every time it is read.
 */
export function decode(topic: string, partition: number, r: KafkaMessage): StoredMessage {
  const h = r.headers ?? {};
  const queue = text(h[H.queue]);
  const born = Number(text(h[H.born]) ?? r.timestamp);
  const k = parsed(text(h[H.keys]));
  const body = r.value ?? Buffer.alloc(0);
  return {
    msgId: text(h[H.id]) ?? foreignId(topic, partition, r.offset),
    topic,
    queueId: queue === undefined ? partition : Number(queue),
    queueOffset: Number(r.offset),
    commitLogOffset: -1,
    storeSize: body.length,
    tag: text(h[H.tag]),
    keys: Array.isArray(k) ? k.map(String) : [],
    properties: stringTable(parsed(text(h[H.props]))),
    body,
    bornTimestamp: born,
    storeTimestamp: Number(r.timestamp) || born,
    flag: 0,
    sysFlag: 0,
    reconsumeTimes: Number(text(h[H.retries]) ?? 0),
    preparedTransactionOffset: 0,
  };
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}

function foreignId(topic: string, partition: number, offset: string): string {
  return createHash('md5').update(`${topic}\u0000${partition}\u0000${offset}`).digest('hex').toUpperCase();
}

/** When a retry copy is due (undefined: not a retry copy). */
export function dueOf(r: KafkaMessage): number | undefined {
  const due = text(r.headers?.[H.due]);
  return due === undefined ? undefined : Number(due);
}

/** A header value as text (kafkajs gives Buffers, or arrays for repeated headers: the first). */
function text(v: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  const one = Array.isArray(v) ? v[0] : v;
  return one === undefined ? undefined : one.toString();
}

function parsed(v: string | undefined): unknown {
  if (v === undefined) return undefined;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return undefined;
  }
}

function stringTable(v: unknown): Record<string, string> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return {};
  // fromEntries makes own properties, so a key named __proto__ stays a property
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)]));
}
