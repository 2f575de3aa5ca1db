/**
 * kafkajs errors as mqgate's, at the adapter's edge: the broker's protocol error (found through
 * kafkajs's wrappers: retries exceeded, non-retriable) names what happened. A record over the
 * topic's limit is a 413; a missing or bad topic a 4xx; everything else that may pass (the broker
 * is away, a leader moved, a timeout) a retriable 503. Never a kafkajs stack trace to the user.
 */
import { MqgateError, isMqgateError } from '../../src/errors.js';

/** The broker's error type (`MESSAGE_TOO_LARGE`, ...) inside a kafkajs error, if any. */
export function protocolType(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string') return type;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** The innermost message of a kafkajs error chain (what a person can act on). */
function reason(err: unknown): string {
  let msg = err instanceof Error ? err.message : String(err);
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; depth++) {
    msg = e.message;
    e = (e as { cause?: unknown }).cause;
  }
  return msg;
}

/** `err` from kafkajs as a MqgateError; `what` says what was being done (`send to "orders"`). */
export function kafkaError(err: unknown, backend: string, what: string): MqgateError {
  if (isMqgateError(err)) return err;
  const type = protocolType(err);
  const why = `kafka backend "${backend}": ${what}: ${reason(err)}`;
  switch (type) {
    case 'MESSAGE_TOO_LARGE':
    case 'RECORD_LIST_TOO_LARGE':
      return new MqgateError('MQ_ERR_MESSAGE_TOO_LARGE', why, { cause: err });
    case 'UNKNOWN_TOPIC_OR_PARTITION':
      return new MqgateError('MQ_ERR_TOPIC_NOT_FOUND', why, { cause: err });
    case 'INVALID_TOPIC_EXCEPTION':
      return new MqgateError('MQ_ERR_TOPIC_INVALID', why, { cause: err });
    case 'TOPIC_AUTHORIZATION_FAILED':
    case 'GROUP_AUTHORIZATION_FAILED':
    case 'CLUSTER_AUTHORIZATION_FAILED':
    case 'INVALID_REQUIRED_ACKS':
    case 'POLICY_VIOLATION':
    case 'INVALID_CONFIG':
    case 'INVALID_PARTITIONS':
      return new MqgateError('MQ_ERR_BACKEND_REFUSED', why, { cause: err });
    default:
      return new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', why, { cause: err });
  }
}

/** Kafka's topic name rule: at most 249 of letters, digits, `.`, `_`, `-` (RocketMQ also allows `%` and `|`). */
export function checkTopicName(topic: string): void {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic) || topic === '.' || topic === '..')
    throw new MqgateError(
      'MQ_ERR_TOPIC_INVALID',
      `"${topic}": a topic on Kafka may use letters, digits, ".", "_" and "-" only`,
    );
}
