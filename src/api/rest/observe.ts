/**
 * Request ids and metrics of the HTTP API.
 *
 * - Request ids: an incoming `x-request-id` of 1..128 characters `[A-Za-z0-9._:/+=@-]` is kept
 *   (anything else is replaced by a UUID); it is on every log line of the request (`reqId`) and
 *   echoed in the `x-request-id` answer header.
 * - Metrics: each route gets, when registered, an `onResponse` hook that counts it by route
 *   pattern and status (series cached per route and status); the send routes also count
 *   messages in and the send latency, receive and pull count messages out. `GET /metrics`
 *   serves the text format when `metrics.enabled`.
 */
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import type { HttpSeries, Metrics } from '../../observability/metrics.js';
import { field, param } from './request-parts.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's metrics: the WebSocket counts its traffic with `onSend`/`onDeliver`. */
    metrics: Metrics;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:/+=@-]{1,128}$/;

/** The request id: the client's `x-request-id` when it is short and plain, else a new UUID. */
export function requestId(req: IncomingMessage): string {
  const h = req.headers['x-request-id'];
  return typeof h === 'string' && REQUEST_ID.test(h) ? h : crypto.randomUUID();
}

const SEND_ROUTES = new Set(['/v1/topics/:topic/messages', '/v1/topics/:topic/messages::batch']);
const RECEIVE_ROUTE = '/v1/groups/:group/receive';
const PULL_ROUTE = '/v1/topics/:topic/queues/:queueId/messages';

function messagesIn(o: unknown): number {
  const m = field(o, 'messages');
  return Array.isArray(m) ? m.length : 0;
}

function appendHook<K extends 'onResponse' | 'preSerialization'>(
  r: RouteOptions,
  name: K,
  hook: NonNullable<RouteOptions[K]>,
): void {
  const cur = r[name];
  (r as unknown as Record<K, unknown>)[name] = cur === undefined ? [hook].flat() : [cur, hook].flat();
}

/** Installs the metrics hooks and `GET /metrics` (when enabled); call before any route. */
export function installMetrics(app: FastifyInstance, metrics: Metrics, enabled: boolean): void {
  app.decorate('metrics', metrics);
  if (!enabled) return;
  app.addHook('onRoute', (r) => {
    const url = r.url;
    const byKey = new Map<number, HttpSeries>();
    const methods: string[] = [r.method].flat();
    const series = (method: string, status: number): HttpSeries => {
      // status and method in one number: the key allocates nothing
      const key = status * 16 + methods.indexOf(method);
      let s = byKey.get(key);
      if (s === undefined) byKey.set(key, (s = metrics.http(method, url, status)));
      return s;
    };
    const isPost = methods.includes('POST');
    if (isPost && SEND_ROUTES.has(url)) {
      const single = url === '/v1/topics/:topic/messages';
      const latency = metrics.sendLatency('rest');
      appendHook(
        r,
        'onResponse',
        (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
          const status = reply.statusCode;
          const seconds = reply.elapsedTime / 1000;
          const s = series(req.method, status);
          s.requests.value++;
          s.seconds.observe(seconds);
          if (status === 200 || status === 202) {
            metrics.onSend(param(req, 'topic'), single ? 1 : messagesIn(req.body));
            latency.observe(seconds);
          }
          done();
        },
      );
      return;
    }
    appendHook(r, 'onResponse', (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const s = series(req.method, reply.statusCode);
      s.requests.value++;
      s.seconds.observe(reply.elapsedTime / 1000);
      done();
    });
    if ((isPost && url === RECEIVE_ROUTE) || (methods.includes('GET') && url === PULL_ROUTE)) {
      const topicOf =
        url === PULL_ROUTE
          ? (req: FastifyRequest) => param(req, 'topic')
          : (req: FastifyRequest) => {
              const t = field(req.body, 'topic');
              return typeof t === 'string' ? t : '';
            };
      appendHook(
        r,
        'preSerialization',
        (req: FastifyRequest, reply: FastifyReply, payload: unknown, done: (e: null, p: unknown) => void) => {
          const n = reply.statusCode === 200 ? messagesIn(payload) : 0;
          if (n > 0) metrics.onDeliver(topicOf(req), n);
          done(null, payload);
        },
      );
    }
  });
  app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()));
}

type LogFn = (...args: unknown[]) => void;
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;

/**
 * A request's logger, made only when something is logged: fastify gives every request a pino
 * child bound to its id, which costs more than the rest of a small request's logging (none on
 * the happy path). This stands in with the same methods and makes the child on first use.
 */
class LazyChildLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #opts: ChildLoggerOptions;
  #child: FastifyBaseLogger | undefined;
  declare fatal: LogFn;
  declare error: LogFn;
  declare warn: LogFn;
  declare info: LogFn;
  declare debug: LogFn;
  declare trace: LogFn;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#opts = opts;
  }

  get #real(): FastifyBaseLogger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#opts));
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }

  set level(l: string) {
    this.#real.level = l;
  }

  silent(): void {}

  child(bindings: Bindings, opts?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real.child(bindings, opts);
  }

  static {
    for (const l of LEVELS)
      Object.defineProperty(LazyChildLogger.prototype, l, {
        value(this: LazyChildLogger, ...args: unknown[]) {
          if (this.#child === undefined && !(this.#parent as unknown as Logger).isLevelEnabled(l)) return;
          (this.#real[l] as LogFn)(...args);
        },
      });
  }
}

/** fastify's `childLoggerFactory`: see {@link LazyChildLogger}. */
export function lazyChildLogger(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  opts: ChildLoggerOptions,
): FastifyBaseLogger {
  return new LazyChildLogger(logger, bindings, opts) as unknown as FastifyBaseLogger;
}
