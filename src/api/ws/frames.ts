/**
 * The client frames of the WebSocket API (API.md, "WebSocket"): one TypeBox schema per `op`,
 * compiled once with ajv, and the parse step that turns a text frame into a checked frame or an
 * {@link MqgateError} (never a close). Also the small server frames every op shares.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { Ajv } from 'ajv';
import type { Static, TSchema } from 'typebox';
import { Type } from 'typebox';
import { MqgateError } from '../../errors.js';
import { MessageInSchema } from '../../gateway/index.js';
import { MAX_OWNER_PREFIX } from '../owner-ids.js';
import { GroupName, TopicName } from '../rest/schemas.js';

/** A client-chosen frame id: echoed in the answers, and a subscription's name. */
export const FrameId = Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Integer()]);
export type FrameId = Static<typeof FrameId>;

const frame = <P extends Parameters<typeof Type.Object>[0]>(props: P) =>
  Type.Object(props, { additionalProperties: false });

const ReceiptHandle = Type.String({ minLength: 1, maxLength: 512 });

export const PublishFrame = frame({
  id: FrameId,
  op: Type.Literal('publish'),
  topic: TopicName,
  message: MessageInSchema,
});
/** Many messages to one topic in one frame (RocketMQ's batch rules: none delayed or timed). */
export const PublishBatchFrame = frame({
  id: FrameId,
  op: Type.Literal('publishBatch'),
  topic: TopicName,
  messages: Type.Array(MessageInSchema, { minItems: 1, maxItems: 1024 }),
});
export const SubscribeFrame = frame({
  id: FrameId,
  op: Type.Literal('subscribe'),
  group: GroupName,
  topic: TopicName,
  filter: Type.Optional(
    Type.Object(
      {
        type: Type.Union([Type.Literal('TAG'), Type.Literal('SQL92')]),
        expression: Type.Optional(Type.String({ maxLength: 65536 })),
      },
      { additionalProperties: false },
    ),
  ),
  credit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
});
/**
 * ack and nack name a delivery of one of the connection's subscriptions by its handle; with
 * `group` and `topic` also any other delivery of the group (a receive's), and one held by
 * another gateway instance, which the frame is forwarded to.
 */
export const AckFrame = frame({
  id: Type.Optional(FrameId),
  op: Type.Literal('ack'),
  receiptHandle: ReceiptHandle,
  group: Type.Optional(GroupName),
  topic: Type.Optional(TopicName),
});
export const NackFrame = frame({
  id: Type.Optional(FrameId),
  op: Type.Literal('nack'),
  receiptHandle: ReceiptHandle,
  delayLevel: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  group: Type.Optional(GroupName),
  topic: Type.Optional(TopicName),
});
export const CreditFrame = frame({
  id: Type.Optional(FrameId),
  op: Type.Literal('credit'),
  subscription: FrameId,
  n: Type.Integer({ minimum: 1, maximum: 10_000 }),
});
export const UnsubscribeFrame = frame({
  id: FrameId,
  op: Type.Literal('unsubscribe'),
  subscription: FrameId,
});
export const TxRegisterFrame = frame({
  id: FrameId,
  op: Type.Literal('txRegister'),
  producerGroup: GroupName,
});
export const TxResolveFrame = frame({
  id: Type.Optional(FrameId),
  op: Type.Literal('txResolve'),
  checkId: Type.Optional(Type.Integer({ minimum: 1 })),
  transactionId: Type.String({ minLength: 1, maxLength: 64 + MAX_OWNER_PREFIX }),
  state: Type.Union([Type.Literal('COMMIT'), Type.Literal('ROLLBACK'), Type.Literal('UNKNOWN')]),
});
export const PingFrame = frame({ id: Type.Optional(FrameId), op: Type.Literal('ping') });

export type PublishFrame = Static<typeof PublishFrame>;
export type PublishBatchFrame = Static<typeof PublishBatchFrame>;
export type SubscribeFrame = Static<typeof SubscribeFrame>;
export type AckFrame = Static<typeof AckFrame>;
export type NackFrame = Static<typeof NackFrame>;
export type CreditFrame = Static<typeof CreditFrame>;
export type UnsubscribeFrame = Static<typeof UnsubscribeFrame>;
export type TxRegisterFrame = Static<typeof TxRegisterFrame>;
export type TxResolveFrame = Static<typeof TxResolveFrame>;
export type PingFrame = Static<typeof PingFrame>;

/** Every frame a client may send, told apart by `op`. */
export type ClientFrame =
  | PublishFrame
  | PublishBatchFrame
  | SubscribeFrame
  | AckFrame
  | NackFrame
  | CreditFrame
  | UnsubscribeFrame
  | TxRegisterFrame
  | TxResolveFrame
  | PingFrame;

const SCHEMAS: Record<ClientFrame['op'], TSchema> = {
  publish: PublishFrame,
  publishBatch: PublishBatchFrame,
  subscribe: SubscribeFrame,
  ack: AckFrame,
  nack: NackFrame,
  credit: CreditFrame,
  unsubscribe: UnsubscribeFrame,
  txRegister: TxRegisterFrame,
  txResolve: TxResolveFrame,
  ping: PingFrame,
};

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false });
/** One validator per op, compiled once at load. */
const VALIDATORS = new Map<string, ValidateFunction>(
  Object.entries(SCHEMAS).map(([op, schema]) => [op, ajv.compile(schema)]),
);
const OPS = [...VALIDATORS.keys()].join(', ');

/** A frame that failed to parse or validate, with the id it carried when it had a usable one. */
export class FrameError extends MqgateError {
  readonly frameId: FrameId | undefined;

  constructor(frameId: FrameId | undefined, detail: string, details?: unknown) {
    super('MQ_ERR_BAD_REQUEST', detail, details === undefined ? undefined : { details });
    this.frameId = frameId;
  }
}

function idOf(v: Record<string, unknown>): FrameId | undefined {
  const id = v.id;
  if (typeof id === 'string' && id.length > 0 && id.length <= 256) return id;
  if (typeof id === 'number' && Number.isInteger(id)) return id;
  return undefined;
}

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'frame' : `frame${e.instancePath}`;
  const extra =
    e.keyword === 'additionalProperties'
      ? ` ("${String((e.params as { additionalProperty?: string }).additionalProperty)}")`
      : e.keyword === 'required'
        ? ` ("${String((e.params as { missingProperty?: string }).missingProperty)}")`
        : '';
  return `${where} ${e.message ?? e.keyword}${extra}`;
}

/**
 * A text frame as a checked client frame.
 * @throws FrameError (MQ_ERR_BAD_REQUEST) for text that is not a JSON object, an unknown
 *   `op` or a schema failure; the error names the failing path.
 */
export function parseFrame(text: string): ClientFrame {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new FrameError(undefined, `the frame is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new FrameError(undefined, 'a frame is a JSON object with an "op"');
  const o = v as Record<string, unknown>;
  const op = o.op;
  const validate = typeof op === 'string' ? VALIDATORS.get(op) : undefined;
  if (validate === undefined)
    throw new FrameError(
      idOf(o),
      typeof op === 'string'
        ? `unknown op "${op.slice(0, 64)}"; one of ${OPS}`
        : `"op" missing; one of ${OPS}`,
    );
  if (!validate(o)) {
    const errors = validate.errors ?? [];
    const first = errors[0];
    throw new FrameError(
      idOf(o),
      first === undefined ? `${op} frame is invalid` : describe(first),
      errors.map((e) => ({ path: e.instancePath === '' ? '/' : e.instancePath, message: e.message })),
    );
  }
  return o as ClientFrame;
}

/** An error as an error frame shows it: a MqgateError, or the error body another instance answered. */
export interface FrameErrorBody {
  readonly code: string;
  readonly message: string;
  readonly details?: unknown;
  readonly retryAfterMs?: number | undefined;
}

/** `{id?, op: "error", code, message, details?, retryAfterMs?}` */
export function errorFrame(id: FrameId | undefined, e: FrameErrorBody): string {
  const { code, message, details, retryAfterMs } = e;
  return JSON.stringify({ id, op: 'error', code, message, details, retryAfterMs });
}

/** `{id, op: "ok"}` */
export function okFrame(id: FrameId): string {
  return `{"id":${JSON.stringify(id)},"op":"ok"}`;
}
