/**
 * Whether the RocketMQ backend is up, as its sends and connects found it. A failure that a later
 * try can get past (the proxy away, a timeout) makes it down; while down, the proxy is asked
 * every PROBE_MS whether it listens again, so sends resume within a second of a broker's
 * restart (the gateway's own health loop asks every few seconds).
 */
import { connect } from 'node:net';
import { MqgateError } from '../../src/errors.js';
import type { Health } from '../spi.js';

const PROBE_MS = 500;

export class ProxyHealth {
  readonly #endpoints: string;
  #probe: NodeJS.Timeout | undefined;
  #down: string | undefined = 'not connected';

  constructor(endpoints: string) {
    this.#endpoints = endpoints;
  }

  get(): Health {
    return this.#down === undefined ? { status: 'up' } : { status: 'down', lastError: this.#down };
  }

  /** What a request found: success (undefined) or its error. Refusals say nothing of health. */
  report(err: MqgateError | undefined): void {
    if (err === undefined) {
      this.#down = undefined;
      clearInterval(this.#probe);
      this.#probe = undefined;
    } else if (err.code === 'MQ_ERR_BACKEND_UNAVAILABLE') {
      this.#down = err.message;
      this.#probe ??= setInterval(() => {
        listening(this.#endpoints, PROBE_MS).then(
          () => this.#down !== undefined && this.report(undefined),
          () => undefined,
        );
      }, PROBE_MS);
    }
  }

  close(): void {
    clearInterval(this.#probe);
    this.#probe = undefined;
    this.#down = 'closed';
  }
}

/** Resolves once something accepts a TCP connection at host:port; a 503 error if not. */
export function listening(address: string, timeoutMs: number): Promise<void> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', (err) =>
      reject(new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', `gRPC proxy ${address}: ${err.message}`)),
    );
  });
}
