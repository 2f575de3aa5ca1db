/**
 * rocketmq-client-nodejs errors as mqgate's, at the adapter's edge. The client turns the proxy's
 * status codes into exception classes: too large is a 413, a missing topic a 404, a refusal of
 * the request (bad request, forbidden, unsupported, a message type the topic does not take) a
 * 502; the rest (the proxy away, a timeout, throttling, gRPC transport errors) a retriable 503.
 */
import {
  BadRequestException,
  ForbiddenException,
  NotFoundException,
  PayloadTooLargeException,
  RequestHeaderFieldsTooLargeException,
  UnauthorizedException,
  UnsupportedException,
} from 'rocketmq-client-nodejs';
import { MqgateError, isMqgateError } from '../../src/errors.js';

/** `err` from the client as a MqgateError; `what` says what was being done (`send to "orders"`). */
export function rocketmqError(err: unknown, backend: string, what: string): MqgateError {
  if (isMqgateError(err)) return err;
  const why = `rocketmq backend "${backend}": ${what}: ${err instanceof Error ? err.message : String(err)}`;
  if (err instanceof PayloadTooLargeException || err instanceof RequestHeaderFieldsTooLargeException)
    return new MqgateError('MQ_ERR_MESSAGE_TOO_LARGE', why, { cause: err });
  if (err instanceof NotFoundException) return new MqgateError('MQ_ERR_TOPIC_NOT_FOUND', why, { cause: err });
  if (
    err instanceof BadRequestException ||
    err instanceof ForbiddenException ||
    err instanceof UnauthorizedException ||
    err instanceof UnsupportedException ||
    err instanceof TypeError // the client's own checks (message type, body size)
  )
    return new MqgateError('MQ_ERR_BACKEND_REFUSED', why, { cause: err });
  return new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', why, { cause: err });
}
