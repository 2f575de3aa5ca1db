/**
 * The gateway's backends: `local` (the embedded log, whose broker is also the core) and every
 * one configured under `gateway.backends`, each behind its adapter. Connects them at open (a
 * backend that is down is retried by the health loop, never fatal), watches their health,
 * times their sends for the metrics and answers what `GET /v1/backends` shows.
 */
import type { Logger } from 'pino';
import type {
  BrokerAdapter,
  Capabilities,
  OutboundMessage,
  SendReceipt,
  Support,
} from '../../adapters/index.js';
import { LocalAdapter, createAdapter } from '../../adapters/index.js';
import type { Broker } from '../broker/index.js';
import type { Config } from '../config/schema.js';
import { MqgateError, isMqgateError, withRetryAfter } from '../errors.js';
import { matrix } from './capabilities.js';
import type { BacklogStats } from './core/backlog.js';

export interface Backend {
  readonly name: string;
  readonly adapter: BrokerAdapter;
  /** The embedded log: the gateway calls its broker directly on the hot paths. */
  readonly local: boolean;
  readonly caps: Capabilities;
  status: 'up' | 'down';
  lastError: string | undefined;
}

/** A backend as `GET /v1/backends` shows it. */
export interface BackendInfo {
  readonly name: string;
  readonly type: string;
  readonly status: 'up' | 'down';
  readonly lastError?: string;
  /** The broker's version, where it tells. */
  readonly version?: string;
  readonly default: boolean;
  readonly maxMessageSize: number;
  /** Per feature: native, emulated (by the core) or none. */
  readonly features: Readonly<Record<string, Support>>;
  /** Per feature, one line on how (or why not). */
  readonly how: Readonly<Record<string, string>>;
  /** Store-and-forward: messages accepted while it was down and not forwarded yet. */
  readonly backlog: BacklogStats;
}

/** Called after every confirmed or failed send to a backend (the metrics listen). */
export type SendListener = (backend: string, messages: number, seconds: number, ok: boolean) => void;

export class Backends {
  readonly #byName = new Map<string, Backend>();
  readonly #default: string;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  readonly #listeners: SendListener[] = [];
  readonly #upListeners: ((b: Backend) => void)[] = [];
  /** What a retriable backend error tells clients to wait: until the next health check. */
  readonly retryAfterMs: number;

  private constructor(list: Backend[], config: Config, log: Logger) {
    for (const b of list) this.#byName.set(b.name, b);
    this.#default = config.gateway.defaultBackend;
    this.#log = log;
    this.retryAfterMs = config.gateway.healthIntervalMs;
    this.#timer = setInterval(() => void this.checkHealth(), config.gateway.healthIntervalMs);
    this.#timer.unref();
  }

  static async open(config: Config, broker: Broker, log: Logger): Promise<Backends> {
    const local = new LocalAdapter(broker);
    const list: Backend[] = [entry('local', local, true)];
    const levels = broker.levels;
    const ctx = {
      dataDir: config.store.dataDir,
      maxMessageSize: config.store.maxMessageSize,
      delayLevelsMs: Array.from({ length: levels.count }, (_, i) => levels.delayOf(i + 1)),
      logger: log,
    };
    for (const [name, c] of Object.entries(config.gateway.backends))
      list.push(entry(name, createAdapter(name, c, ctx), false));
    const backends = new Backends(list, config, log.child({ component: 'backends' }));
    await Promise.all(list.map((b) => backends.#connect(b)));
    return backends;
  }

  async #connect(b: Backend): Promise<void> {
    try {
      await b.adapter.connect();
      b.status = 'up';
      b.lastError = undefined;
    } catch (err) {
      b.status = 'down';
      b.lastError = err instanceof Error ? err.message : String(err);
      this.#log.warn({ err, backend: b.name }, 'backend not reachable; retried by the health check');
    }
  }

  /** Asks every backend how it is; one that is down is connected again. */
  async checkHealth(): Promise<void> {
    for (const b of this.#byName.values()) {
      const h = b.adapter.health();
      if (h.status === 'down' && !b.local) await this.#connect(b);
      else {
        b.status = h.status;
        b.lastError = h.lastError;
      }
      if (b.status === 'up') for (const l of this.#upListeners) l(b);
    }
  }

  /** Calls `listener` after every health check for each backend found up (the forwarders wake). */
  onUp(listener: (b: Backend) => void): void {
    this.#upListeners.push(listener);
  }

  /** True when the backend says it is down now (its adapter's health; never the embedded log). */
  isDown(b: Backend): boolean {
    return !b.local && b.adapter.health().status === 'down';
  }

  /** The error of a send to a backend that is down: 503, retriable, after the next health check. */
  unavailable(b: Backend): MqgateError {
    const why = b.adapter.health().lastError ?? b.lastError;
    return new MqgateError(
      'MQ_ERR_BACKEND_UNAVAILABLE',
      `${b.name} is down${why === undefined ? '' : ` (${why})`}`,
      {
        details: { backend: b.name },
        retryAfterMs: this.retryAfterMs,
      },
    );
  }

  get(name: string): Backend | undefined {
    return this.#byName.get(name);
  }

  /** @throws MqgateError `MQ_ERR_BACKEND_UNKNOWN` naming the backends there are */
  require(name: string): Backend {
    const b = this.#byName.get(name);
    if (b !== undefined) return b;
    const known = [...this.#byName.keys()];
    throw new MqgateError('MQ_ERR_BACKEND_UNKNOWN', `"${name}"; the backends are ${known.join(', ')}`, {
      details: { backend: name, available: known },
    });
  }

  list(): Backend[] {
    return [...this.#byName.values()];
  }

  /** What `GET /v1/backends` shows; `backlog` gives each backend's store-and-forward backlog. */
  info(backlog: (name: string) => BacklogStats): BackendInfo[] {
    return this.list().map((b) => {
      const h = b.adapter.health();
      return {
        name: b.name,
        type: b.adapter.type,
        status: h.status,
        ...(h.lastError === undefined ? {} : { lastError: h.lastError }),
        ...(h.version === undefined || h.version === '' ? {} : { version: h.version }),
        default: b.name === this.#default,
        maxMessageSize: b.caps.maxMessageSize,
        ...matrix(b.caps),
        backlog: backlog(b.name),
      };
    });
  }

  onSend(listener: SendListener): void {
    this.#listeners.push(listener);
  }

  /**
   * A confirmed send to a backend, timed; a failure that is not a MqgateError (a bug or a
   * client error the adapter did not translate) becomes MQ_ERR_BACKEND_UNAVAILABLE. A retriable
   * failure says to retry after the next health check (`retryAfterMs`).
   */
  send(b: Backend, topic: string, batch: readonly OutboundMessage[]): Promise<SendReceipt[]> {
    return this.#timed(b, batch.length, () => b.adapter.send(topic, batch));
  }

  /** A committed transaction's message, with its mark in a broker transaction (transactionalCommit). */
  sendCommitted(b: Backend, topic: string, m: OutboundMessage): Promise<SendReceipt> {
    const send = b.adapter.sendCommitted?.bind(b.adapter);
    if (send === undefined)
      return Promise.reject(
        new MqgateError('MQ_ERR_BACKEND_REFUSED', `${b.name} has no transactional commits`),
      );
    return this.#timed(b, 1, () => send(topic, m));
  }

  async #timed<T>(b: Backend, n: number, send: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      const r = await send();
      this.#observe(b, n, started, true);
      return r;
    } catch (err) {
      this.#observe(b, n, started, false);
      if (isMqgateError(err)) throw err.retriable ? withRetryAfter(err, this.retryAfterMs) : err;
      throw new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', `${b.name}: ${String(err)}`, {
        cause: err,
        retryAfterMs: this.retryAfterMs,
      });
    }
  }

  #observe(b: Backend, n: number, started: number, ok: boolean): void {
    const seconds = (performance.now() - started) / 1000;
    for (const l of this.#listeners) l(b.name, n, seconds, ok);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all(this.list().map((b) => b.adapter.close()));
  }
}

function entry(name: string, adapter: BrokerAdapter, local: boolean): Backend {
  return { name, adapter, local, caps: adapter.capabilities(), status: 'down', lastError: undefined };
}
