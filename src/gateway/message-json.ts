/**
 * The JSON form of a message (API.md, "Message"), shared by REST and WebSocket: the schema a
 * message in a request must match, its translation to the broker's send input, and the JSON
 * form of a stored or received message.
 *
 * A `body` that is a string is stored as its UTF-8 bytes; any other JSON value is stored as its
 * JSON text and marked, so it comes back as the same JSON value. `bodyBase64` carries bytes.
 * A received body comes back as text when its bytes are UTF-8, else as `bodyBase64`.
 */
import type { Static } from 'typebox';
import { Type } from 'typebox';
import type { SendInput } from '../broker/index.js';
import { Prop } from '../broker/index.js';
import { MqgateError } from '../errors.js';
import type { StoredMessage } from '../message/index.js';
import { withProps } from '../message/props.js';

/** Properties the gateway keeps for itself: not shown in the JSON form. */
export const INTERNAL_PREFIX = '__MQGATE_';
/** Marks a body stored from a JSON value other than a string. */
export const BODY_JSON_PROP = '__MQGATE_BODY_JSON';

export const MessageInSchema = Type.Object(
  {
    body: Type.Optional(Type.Unknown({ description: 'Text, or any JSON value (stored as its JSON text).' })),
    bodyBase64: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9+/]*={0,2}$',
        description: 'The body as base64 bytes (instead of body).',
      }),
    ),
    tag: Type.Optional(
      Type.String({ minLength: 1, maxLength: 255, pattern: '^[^|]+$', description: 'At most one tag.' }),
    ),
    keys: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 255 }), {
        maxItems: 64,
        description: 'Indexed: query by key.',
      }),
    ),
    properties: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 255 }), Type.String({ maxLength: 16384 }), {
        description: 'String properties, used by SQL92 filters.',
      }),
    ),
    shardingKey: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1024,
        description: 'Ordered: the same key goes to the same queue, FIFO.',
      }),
    ),
    queueId: Type.Optional(Type.Integer({ minimum: 0, maximum: 1023, description: 'An explicit queue.' })),
    delayLevel: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description: 'Deliver after this delay level (above the last is the last).',
      }),
    ),
    deliverAt: Type.Optional(
      Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 64 })], {
        description: 'Timed delivery: ms since the epoch or an ISO-8601 time.',
      }),
    ),
    msgId: Type.Optional(
      Type.String({
        pattern: '^[0-9A-Fa-f]{32}$',
        description: 'Keep this id (a migrated message); made fresh otherwise.',
      }),
    ),
  },
  { additionalProperties: false, $id: 'MessageIn', title: 'Message' },
);
export type MessageIn = Static<typeof MessageInSchema>;

export const MessageOutSchema = Type.Object(
  {
    msgId: Type.String(),
    topic: Type.String(),
    queueId: Type.Integer(),
    queueOffset: Type.Integer(),
    body: Type.Optional(Type.Unknown()),
    bodyBase64: Type.Optional(Type.String()),
    tag: Type.Optional(Type.String()),
    keys: Type.Array(Type.String()),
    properties: Type.Record(Type.String(), Type.String()),
    shardingKey: Type.Optional(Type.String()),
    bornTimestamp: Type.Integer(),
    storeTimestamp: Type.Integer(),
    deliveryAttempt: Type.Optional(Type.Integer()),
    reconsumeTimes: Type.Integer(),
    receiptHandle: Type.Optional(Type.String()),
    invisibleUntil: Type.Optional(Type.Integer()),
    backend: Type.String(),
  },
  { $id: 'MessageOut', title: 'ReceivedMessage' },
);
export type MessageOut = Static<typeof MessageOutSchema>;

/** A request's message as the broker's send input. */
export function toSendInput(m: MessageIn, extraProperties?: Record<string, string>): SendInput {
  if (m.body !== undefined && m.bodyBase64 !== undefined)
    throw new MqgateError('MQ_ERR_BAD_REQUEST', 'give body or bodyBase64, not both');
  let body: Uint8Array | string;
  let props: Record<string, string> | undefined = m.properties;
  if (props !== undefined)
    for (const k of Object.keys(props))
      if (k.startsWith(INTERNAL_PREFIX) || k === Prop.SHARDING_KEY)
        throw new MqgateError('MQ_ERR_MESSAGE_ILLEGAL', `property "${k}" is reserved`);
  if (m.bodyBase64 !== undefined) body = Buffer.from(m.bodyBase64, 'base64');
  else if (typeof m.body === 'string') body = m.body;
  else if (m.body === undefined) body = '';
  else {
    body = JSON.stringify(m.body);
    props = withProps(props, { [BODY_JSON_PROP]: '1' });
  }
  if (extraProperties !== undefined) props = withProps(props, extraProperties);
  return {
    body,
    tag: m.tag,
    keys: m.keys,
    properties: props,
    shardingKey: m.shardingKey,
    queueId: m.queueId,
    msgId: m.msgId,
    delayLevel: m.delayLevel,
    deliverAt: m.deliverAt === undefined ? undefined : parseDeliverAt(m.deliverAt),
  };
}

export function parseDeliverAt(v: number | string): number {
  if (typeof v === 'number') return v;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isSafeInteger(t) || t < 0)
    throw new MqgateError(
      'MQ_ERR_DELIVER_AT_INVALID',
      `"${v}" is neither ms since the epoch nor an ISO-8601 time`,
    );
  return t;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The JSON form of a stored or received message. */
export function toMessageJson(
  m: StoredMessage & { deliveryAttempt?: number; receiptHandle?: string; invisibleUntil?: number },
  backend = 'local',
): MessageOut {
  const properties: Record<string, string> = {};
  let shardingKey: string | undefined;
  let jsonBody = false;
  for (const [k, v] of Object.entries(m.properties)) {
    if (k === Prop.SHARDING_KEY) shardingKey = v;
    else if (k === BODY_JSON_PROP) jsonBody = true;
    else if (!k.startsWith(INTERNAL_PREFIX)) properties[k] = v;
  }
  const out: MessageOut = {
    msgId: m.msgId,
    topic: m.topic,
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    keys: [...m.keys],
    properties,
    bornTimestamp: m.bornTimestamp,
    storeTimestamp: m.storeTimestamp,
    reconsumeTimes: m.reconsumeTimes,
    backend,
  };
  let text: string | undefined;
  try {
    text = utf8.decode(m.body);
  } catch {
    text = undefined;
  }
  if (text === undefined) out.bodyBase64 = m.body.toString('base64');
  else if (jsonBody) {
    try {
      out.body = JSON.parse(text) as unknown;
    } catch {
      out.body = text;
    }
  } else out.body = text;
  if (m.tag !== undefined) out.tag = m.tag;
  if (shardingKey !== undefined) out.shardingKey = shardingKey;
  if (m.deliveryAttempt !== undefined) out.deliveryAttempt = m.deliveryAttempt;
  if (m.receiptHandle !== undefined) out.receiptHandle = m.receiptHandle;
  if (m.invisibleUntil !== undefined) out.invisibleUntil = m.invisibleUntil;
  return out;
}
