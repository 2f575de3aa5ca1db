/** An error answered by the server (`code` from its catalogue), or a failure to reach it. */
export class MqgateClientError extends Error {
  /** The server's code (`MQ_ERR_...`), or `MQ_ERR_UNREACHABLE` when there was no answer. */
  readonly code: string;
  /** HTTP status; 0 when the server was not reached. */
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, message: string, status: number, details?: unknown, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'MqgateClientError';
    this.code = code;
    this.status = status;
    this.details = details;
  }
}
