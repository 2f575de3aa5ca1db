/**
 * The one error catalogue of mqgate.
 *
 * Every error a user can see has a stable `code` (`MQ_ERR_<AREA>_<WHAT>`), the HTTP status the
 * REST layer answers with, and whether retrying the same request may succeed. Adapters translate
 * broker errors into these at their edge. Expected outcomes on the hot path (a full disk, an
 * oversize message) are status values, not exceptions: see `PutMessageStatus` in `src/store`.
 */

export interface ErrorSpec {
  readonly statusCode: number;
  readonly retriable: boolean;
  /** One line a person can act on; `%s` is replaced by the detail given at the throw site. */
  readonly message: string;
}

export const ErrorCodes = {
  MQ_ERR_CONFIG_INVALID: { statusCode: 500, retriable: false, message: 'invalid configuration: %s' },
  MQ_ERR_MESSAGE_ILLEGAL: { statusCode: 400, retriable: false, message: 'illegal message: %s' },
  MQ_ERR_MESSAGE_TOO_LARGE: { statusCode: 413, retriable: false, message: 'message too large: %s' },
  MQ_ERR_TOPIC_INVALID: { statusCode: 400, retriable: false, message: 'invalid topic name: %s' },
  MQ_ERR_TOPIC_NOT_FOUND: { statusCode: 404, retriable: false, message: 'topic not found: %s' },
  MQ_ERR_MSG_NOT_FOUND: { statusCode: 404, retriable: false, message: 'message not found: %s' },
  MQ_ERR_MSGID_INVALID: { statusCode: 400, retriable: false, message: 'invalid message id: %s' },
  MQ_ERR_STORE_CORRUPT: { statusCode: 500, retriable: false, message: 'store data corrupted: %s' },
  MQ_ERR_STORE_IO: { statusCode: 503, retriable: true, message: 'store I/O failure: %s' },
  MQ_ERR_STORE_NOT_WRITABLE: { statusCode: 503, retriable: true, message: 'store not writable: %s' },
  MQ_ERR_STORE_CLOSED: { statusCode: 503, retriable: true, message: 'store is closed: %s' },
  MQ_ERR_STORE_LOCKED: { statusCode: 500, retriable: false, message: 'store directory in use: %s' },
  MQ_ERR_FLUSH_TIMEOUT: { statusCode: 504, retriable: true, message: 'disk flush timed out: %s' },
  MQ_ERR_TOPIC_SYSTEM: { statusCode: 403, retriable: false, message: 'system topic: %s' },
  MQ_ERR_TOPIC_PERMISSION: { statusCode: 403, retriable: false, message: 'topic permission denied: %s' },
  MQ_ERR_QUEUE_INVALID: { statusCode: 400, retriable: false, message: 'invalid queue: %s' },
  MQ_ERR_GROUP_INVALID: { statusCode: 400, retriable: false, message: 'invalid consumer group: %s' },
  MQ_ERR_GROUP_NOT_FOUND: { statusCode: 404, retriable: false, message: 'consumer group not found: %s' },
  MQ_ERR_GROUP_MODE: { statusCode: 400, retriable: false, message: 'not possible in this group mode: %s' },
  MQ_ERR_OFFSET_INVALID: { statusCode: 400, retriable: false, message: 'invalid offset: %s' },
  MQ_ERR_RECEIPT_INVALID: { statusCode: 400, retriable: false, message: 'invalid receipt handle: %s' },
  MQ_ERR_RECEIPT_EXPIRED: {
    statusCode: 410,
    retriable: false,
    message: 'receipt handle no longer valid: %s',
  },
  MQ_ERR_INVISIBLE_TIME_INVALID: {
    statusCode: 400,
    retriable: false,
    message: 'invalid invisible duration: %s',
  },
  MQ_ERR_DELAY_LEVEL_INVALID: { statusCode: 400, retriable: false, message: 'invalid delay level: %s' },
  MQ_ERR_DELIVER_AT_INVALID: { statusCode: 400, retriable: false, message: 'invalid delivery time: %s' },
  MQ_ERR_TX_UNKNOWN: { statusCode: 404, retriable: false, message: 'unknown transaction: %s' },
  MQ_ERR_TX_CONFLICT: { statusCode: 409, retriable: false, message: 'transaction conflict: %s' },
  MQ_ERR_SUBSCRIPTION_CLOSED: { statusCode: 409, retriable: false, message: 'subscription closed: %s' },
  MQ_ERR_BROKER_CLOSED: { statusCode: 503, retriable: true, message: 'broker is closed: %s' },
  MQ_ERR_FILTER_INVALID: { statusCode: 400, retriable: false, message: 'invalid filter expression: %s' },
  MQ_ERR_BAD_REQUEST: { statusCode: 400, retriable: false, message: 'bad request: %s' },
  MQ_ERR_NOT_FOUND: { statusCode: 404, retriable: false, message: 'not found: %s' },
  MQ_ERR_METHOD_NOT_ALLOWED: { statusCode: 405, retriable: false, message: 'method not allowed: %s' },
  MQ_ERR_UNSUPPORTED_MEDIA_TYPE: {
    statusCode: 415,
    retriable: false,
    message: 'unsupported media type: %s',
  },
  MQ_ERR_UNAUTHORIZED: { statusCode: 401, retriable: false, message: 'unauthorized: %s' },
  MQ_ERR_FORBIDDEN: { statusCode: 403, retriable: false, message: 'forbidden: %s' },
  MQ_ERR_RATE_LIMITED: { statusCode: 429, retriable: true, message: 'rate limit exceeded: %s' },
  MQ_ERR_SHUTTING_DOWN: { statusCode: 503, retriable: true, message: 'shutting down: %s' },
  MQ_ERR_FEATURE_UNSUPPORTED: {
    statusCode: 422,
    retriable: false,
    message: 'feature not supported on this backend: %s',
  },
  MQ_ERR_BACKEND_UNKNOWN: { statusCode: 400, retriable: false, message: 'unknown backend: %s' },
  MQ_ERR_BACKEND_FIXED: { statusCode: 409, retriable: false, message: "the topic's backend is fixed: %s" },
  MQ_ERR_BACKEND_UNAVAILABLE: { statusCode: 503, retriable: true, message: 'backend unavailable: %s' },
  MQ_ERR_BACKEND_REFUSED: { statusCode: 502, retriable: false, message: 'the backend refused: %s' },
  MQ_ERR_NOT_OWNER: {
    statusCode: 421,
    retriable: false,
    message: 'another gateway instance owns this id: %s',
  },
  MQ_ERR_INTERNAL: { statusCode: 500, retriable: true, message: 'internal error: %s' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ErrorCodes;

export class MqgateError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retriable: boolean;
  readonly details: unknown;
  /** When a retry may succeed, in ms (REST: a `Retry-After` header; WebSocket: a frame field). */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: ErrorCode,
    detail: string,
    options?: { cause?: unknown; details?: unknown; retryAfterMs?: number },
  ) {
    const spec: ErrorSpec = ErrorCodes[code];
    super(
      spec.message.replace('%s', detail),
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'MqgateError';
    this.code = code;
    this.statusCode = spec.statusCode;
    this.retriable = spec.retriable;
    this.details = options?.details;
    this.retryAfterMs = options?.retryAfterMs;
  }

  toJSON(): { code: ErrorCode; message: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isMqgateError(e: unknown): e is MqgateError {
  return e instanceof MqgateError;
}

/** The same error, saying to retry after `ms` (an error that says when already is kept). */
export function withRetryAfter(e: MqgateError, ms: number): MqgateError {
  if (e.retryAfterMs !== undefined) return e;
  const copy = new MqgateError(e.code, '', { cause: e.cause, details: e.details, retryAfterMs: ms });
  copy.message = e.message;
  if (e.stack !== undefined) copy.stack = e.stack;
  return copy;
}

/**
 * A failed system call (a file gone, a full disk) as MQ_ERR_STORE_IO: the environment, not a
 * bug in the request. Undefined for anything else.
 */
export function fromSystemError(e: unknown): MqgateError | undefined {
  if (!(e instanceof Error)) return undefined;
  const x = e as NodeJS.ErrnoException;
  if (typeof x.syscall !== 'string') return undefined;
  return new MqgateError(
    'MQ_ERR_STORE_IO',
    `${x.syscall} failed: ${x.code ?? 'error'}; see the gateway log`,
    {
      cause: e,
    },
  );
}
