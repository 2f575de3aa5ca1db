/**
 * One error shape for every failure: `{ error: { code, message, details? } }` with the status
 * of the error catalogue. Schema failures are MQ_ERR_BAD_REQUEST with the failing paths in
 * `details`; fastify's own refusals (body too large, not JSON, unknown route) map to their
 * codes; anything else is a bug, logged with the request id and answered without internals.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../../errors.js';
import { ErrorCodes, MqgateError, fromSystemError, isMqgateError } from '../../errors.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export function errorBody(e: MqgateError): ErrorBody {
  return { error: e.toJSON() };
}

function fromFastify(e: FastifyError): MqgateError | undefined {
  if (e.validation !== undefined) {
    const where = e.validationContext ?? 'request';
    const details = e.validation.map((v) => ({
      in: where,
      path: v.instancePath === '' ? '/' : v.instancePath,
      message: v.message ?? v.keyword,
      ...(v.keyword === 'additionalProperties'
        ? { property: (v.params as { additionalProperty?: string }).additionalProperty }
        : {}),
    }));
    const first = details[0];
    const summary =
      first === undefined
        ? `${where} is invalid`
        : `${where}${first.path === '/' ? '' : first.path} ${first.message}${
            'property' in first && first.property !== undefined ? ` ("${String(first.property)}")` : ''
          }`;
    return new MqgateError('MQ_ERR_BAD_REQUEST', summary, { details });
  }
  const code: ErrorCode | undefined = (
    {
      FST_ERR_CTP_BODY_TOO_LARGE: 'MQ_ERR_MESSAGE_TOO_LARGE',
      FST_ERR_CTP_INVALID_MEDIA_TYPE: 'MQ_ERR_UNSUPPORTED_MEDIA_TYPE',
      FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MQ_ERR_BAD_REQUEST',
      FST_ERR_CTP_EMPTY_JSON_BODY: 'MQ_ERR_BAD_REQUEST',
      FST_ERR_CTP_INVALID_JSON_BODY: 'MQ_ERR_BAD_REQUEST',
    } as Record<string, ErrorCode>
  )[e.code];
  if (code !== undefined) return new MqgateError(code, e.message);
  const status = e.statusCode ?? 500;
  if (status === 413) return new MqgateError('MQ_ERR_MESSAGE_TOO_LARGE', e.message);
  if (status === 415) return new MqgateError('MQ_ERR_UNSUPPORTED_MEDIA_TYPE', e.message);
  if (status === 429) return new MqgateError('MQ_ERR_RATE_LIMITED', e.message);
  if (status >= 400 && status < 500) return new MqgateError('MQ_ERR_BAD_REQUEST', e.message);
  return undefined;
}

/**
 * Fastify's `frameworkErrors` option: errors found before routing (a URL that does not decode,
 * a bad constraint) answer in the same shape as every other error.
 */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const e =
    fromFastify(err) ??
    new MqgateError(err.code === 'FST_ERR_BAD_URL' ? 'MQ_ERR_BAD_REQUEST' : 'MQ_ERR_INTERNAL', err.message);
  void reply.code(e.statusCode).header('content-type', 'application/json; charset=utf-8').send(errorBody(e));
}

/** Installs the error and not-found handlers, and adds the shared `Error` schema (`$ref: 'Error'`). */
export function installErrorHandling(app: FastifyInstance): void {
  app.addSchema(ErrorSchema);
  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    // a failed system call (a file gone, a full disk) is the environment, not a bug in the request
    let e: MqgateError | undefined = isMqgateError(err) ? err : fromSystemError(err);
    if (e === undefined && err instanceof SyntaxError && (err as { statusCode?: number }).statusCode === 400)
      e = new MqgateError('MQ_ERR_BAD_REQUEST', `the body is not valid JSON: ${err.message}`);
    if (e === undefined && typeof err === 'object' && err !== null && 'code' in err)
      e = fromFastify(err as FastifyError);
    if (e === undefined) {
      req.log.error({ err }, 'unexpected error');
      e = new MqgateError('MQ_ERR_INTERNAL', `request ${req.id} failed; see the gateway log`);
    } else if (e.statusCode >= 500) req.log.warn({ err }, e.code);
    if (e.retryAfterMs !== undefined) void reply.header('retry-after', retryAfterSeconds(e.retryAfterMs));
    void reply
      .code(e.statusCode)
      .header('content-type', 'application/json; charset=utf-8')
      .send(errorBody(e));
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new MqgateError('MQ_ERR_NOT_FOUND', `${req.method} ${req.url.split('?')[0] ?? ''}`);
    void reply.code(404).send(errorBody(e));
  });
}

/** `Retry-After` is whole seconds: at least 1, so that a client does not retry at once. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** The error schema for OpenAPI. */
export const ErrorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', enum: Object.keys(ErrorCodes) },
        message: { type: 'string' },
        details: {},
      },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;
