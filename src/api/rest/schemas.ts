/** Schemas shared by the REST routes. */
import type { TUnsafe } from 'typebox';
import { Type } from 'typebox';
import { MqgateError } from '../../errors.js';
import { MAX_OWNER_PREFIX } from '../owner-ids.js';
import type { ErrorBody } from './errors.js';

/** A topic name as a path parameter (the broker checks RocketMQ's rule precisely). */
export const TopicName = Type.String({ minLength: 1, maxLength: 127, pattern: '^[%|a-zA-Z0-9_-]+$' });
/** A consumer or producer group name (the broker checks the precise rule). */
export const GroupName = Type.String({ minLength: 1, maxLength: 255, pattern: '^[%|a-zA-Z0-9_-]+$' });
/** A message id. */
export const MsgId = Type.String({
  pattern: '^[0-9A-Fa-f]{32}$',
  description: 'A message id: 32 hex digits.',
});
/** A receipt handle (with cluster.instanceId set, `{owner}~` before the handle of 120 at most). */
export const ReceiptHandle = Type.String({
  minLength: 1,
  maxLength: 120 + MAX_OWNER_PREFIX,
  description: 'The receipt handle of one delivery, from a receive.',
});

/** `{topic}` path parameters. */
export const TopicParams = Type.Object({ topic: TopicName }, { additionalProperties: false });
/** `{group}` path parameters. */
export const GroupParams = Type.Object({ group: GroupName }, { additionalProperties: false });

/** The body of a route that takes none (`{}`, or no body at all: see `jsonBodies`). */
export const NoFields = Type.Object(
  {},
  { additionalProperties: false, description: 'No fields; may be omitted.' },
);

/** The answer of a DELETE. */
export const Deleted = Type.Object({ name: Type.String(), deleted: Type.Boolean() });

/** RocketMQ's SendStatus and where the message went. */
export const SendResultSchema = Type.Object(
  {
    msgId: Type.String(),
    topic: Type.String(),
    queueId: Type.Integer(),
    queueOffset: Type.Integer({ description: '-1 while a delayed or timed message waits in the scheduler' }),
    status: Type.String({ description: "RocketMQ's SendStatus: SEND_OK, FLUSH_DISK_TIMEOUT" }),
    deliverAt: Type.Optional(Type.Integer()),
  },
  { $id: 'SendResult' },
);

/** One queue's committed offset for a group, with its bounds, lag and messages in flight. */
export const QueueOffsetSchema = Type.Object(
  {
    queueId: Type.Integer(),
    offset: Type.Integer({ description: 'Committed: every message below it is done for the group.' }),
    minOffset: Type.Integer(),
    maxOffset: Type.Integer(),
    lag: Type.Integer({ description: 'maxOffset - offset' }),
    inflight: Type.Integer({ description: 'Handed out and not settled yet.' }),
  },
  { $id: 'QueueOffset' },
);

/** The shared error schema (added once by `installErrorHandling`), typed for the routes. */
export const ErrorRef: TUnsafe<ErrorBody> = Type.Unsafe<ErrorBody>(Type.Ref('Error'));

/** Failures every route can answer: bad input, auth, rate limit, internal, unavailable. */
const COMMON_ERRORS = [400, 401, 403, 429, 500, 503] as const;
type CommonError = (typeof COMMON_ERRORS)[number];

/**
 * The error responses of a route: the common ones plus `extra` (404, 409, 410, 413, 415...),
 * each the shared `{error: {code, message, details?}}` schema.
 */
export function errorResponses<K extends number>(...extra: K[]): Record<K | CommonError, TUnsafe<ErrorBody>> {
  const out = {} as Record<K | CommonError, TUnsafe<ErrorBody>>;
  for (const code of [...COMMON_ERRORS, ...extra]) out[code] = ErrorRef;
  return out;
}

/** A body's error responses: as {@link errorResponses} plus 413 (too large) and 415 (not JSON). */
export function bodyErrorResponses<K extends number>(
  ...extra: K[]
): Record<K | CommonError | 413 | 415, TUnsafe<ErrorBody>> {
  return errorResponses<K | 413 | 415>(413, 415, ...extra);
}

/** A point in time: ms since the epoch, or an ISO-8601 string. */
export const TimeValue = Type.Union(
  [Type.Integer({ minimum: 0 }), Type.String({ minLength: 1, maxLength: 64 })],
  {
    description: 'ms since the epoch, or an ISO-8601 time',
  },
);

/**
 * A {@link TimeValue} as ms since the epoch.
 *
 * @throws MqgateError `MQ_ERR_BAD_REQUEST` naming `what` when it is neither form
 */
export function parseTime(v: number | string, what: string): number {
  if (typeof v === 'number') return v;
  const t = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isSafeInteger(t) || t < 0)
    throw new MqgateError(
      'MQ_ERR_BAD_REQUEST',
      `${what}: "${v}" is neither ms since the epoch nor an ISO-8601 time`,
    );
  return t;
}

/** An `http:` or `https:` URL a request names for a callback (see {@link checkCallbackUrl}). */
export const CallbackUrl = (description: string) =>
  Type.String({ minLength: 8, maxLength: 2048, pattern: '^[hH][tT][tT][pP][sS]?://', description });

/**
 * Checks a callback URL: absolute http(s) with a host.
 *
 * @throws MqgateError `MQ_ERR_BAD_REQUEST` naming `what`
 */
export function checkCallbackUrl(url: string, what: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MqgateError('MQ_ERR_BAD_REQUEST', `${what}: "${url}" is not a URL`);
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '')
    throw new MqgateError('MQ_ERR_BAD_REQUEST', `${what}: "${url}" must be an http or https URL`);
  return u.toString();
}
