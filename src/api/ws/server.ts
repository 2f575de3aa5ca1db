/**
 * The WebSocket API on `/v1/ws`, on the HTTP server of the fastify app (API.md, "WebSocket").
 *
 * Frames are JSON text; each client frame is checked against its op's schema (frames.ts). What
 * this adds to API.md: `{id, op: "ok"}` answers subscribe, unsubscribe, txRegister, and (when
 * they carry an `id`) ack, nack, credit and txResolve; `{id?, op: "ping"}` answers `pong`;
 * subscribe takes `clientId` (broadcasting offsets are kept per client id); a result carries
 * `topic` (and `deliverAt` for a timed message); `txCheck` carries a `checkId` that `txResolve`
 * may echo (else the oldest pending check of the transaction is answered); a subscription the
 * broker ends (consumer expiry) is reported as an error frame with its id and
 * MQ_ERR_SUBSCRIPTION_CLOSED. A frame over `api.wsMaxPayloadBytes` closes the socket with 1009
 * (the one frame that does); every other bad frame is answered with an error frame.
 *
 * The upgrade request is authenticated once: `Authorization: Bearer <key>`, or
 * `?access_token=<key>` for browsers (which cannot set headers on a WebSocket); each frame is
 * then authorized for that key (publish: PUB on the topic; subscribe: SUB on the topic and on
 * the group; txRegister: PUB on some topic, and only checks of topics with PUB reach it, the
 * others count UNKNOWN). A refused upgrade is answered with the REST error shape and status
 * (401, 404, 503).
 *
 * With cluster.instanceId set, pushed receipt handles and `txCheck` transaction ids carry
 * their owner (`{instanceId}~`); an `ack`, `nack` (with `group` and `topic`) or `txResolve`
 * naming another instance is done there over REST, with the key the socket connected with.
 *
 * Every `api.wsHeartbeatMs` each socket is pinged; one that answered nothing since the ping
 * before is terminated (unless it is a slow reader still draining). `app.close()` closes every
 * socket with 1001 (going away).
 */
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Config } from '../../config/schema.js';
import { MqgateError, isMqgateError } from '../../errors.js';
import type { Gateway } from '../../gateway/index.js';
import type { Metrics } from '../../observability/metrics.js';
import type { AccessControl, Principal } from '../access.js';
import { createAccessControl } from '../access.js';
import type { Peers } from '../peers.js';
import { errorBody } from '../rest/errors.js';
import type { ConnectionStats } from './connection.js';
import { Connection } from './connection.js';

/** The WebSocket API's path. */
export const WS_PATH = '/v1/ws';

/** Publishes in flight per connection before its frames stop being read. */
const MAX_INFLIGHT = 4096;
/** How long a closing handshake may take at shutdown before the socket is cut (ms). */
const CLOSE_GRACE_MS = 1000;

declare module 'fastify' {
  interface FastifyInstance {
    /** The WebSocket API on `/v1/ws` (its connections and their stats). */
    wsApi: WsApi;
  }
}

export interface WsApiOptions {
  readonly gateway: Gateway;
  readonly config: Config;
  readonly logger: Logger;
  /** The access control to use; made from `config.auth` when not given. */
  readonly access?: AccessControl;
  /** Counts publishes and deliveries when given. */
  readonly metrics?: Metrics;
  /** Several instances (cluster.instanceId): frames naming another instance's ids go to it. */
  readonly peers?: Peers | undefined;
}

export class WsApi {
  readonly #o: WsApiOptions;
  readonly #access: AccessControl;
  readonly #log: Logger;
  readonly #wss: WebSocketServer;
  readonly #conns = new Set<Connection>();
  readonly #timer: NodeJS.Timeout;
  #closing: Promise<void> | undefined;

  constructor(o: WsApiOptions) {
    this.#o = o;
    this.#access = o.access ?? createAccessControl(o.config.auth);
    this.#log = o.logger.child({ component: 'ws' });
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: o.config.api.wsMaxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#timer = setInterval(() => {
      for (const c of this.#conns) if (!c.heartbeat()) this.#conns.delete(c);
    }, o.config.api.wsHeartbeatMs);
    this.#timer.unref();
  }

  /** Handles an HTTP upgrade request: `/v1/ws` with a valid key becomes a connection. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (path !== WS_PATH)
      return refuse(socket, new MqgateError('MQ_ERR_NOT_FOUND', `no WebSocket at ${path}`));
    if (this.#closing !== undefined)
      return refuse(socket, new MqgateError('MQ_ERR_SHUTTING_DOWN', 'no new connections'));
    let principal: Principal;
    let authorization = req.headers.authorization;
    try {
      if (authorization === undefined && q >= 0) {
        const token = new URLSearchParams(url.slice(q + 1)).get('access_token');
        if (token !== null) authorization = `Bearer ${token}`;
      }
      principal = this.#access.authenticate(authorization);
    } catch (e) {
      return refuse(socket, isMqgateError(e) ? e : new MqgateError('MQ_ERR_UNAUTHORIZED', 'refused'));
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      const { config, gateway } = this.#o;
      const c = new Connection(ws, {
        gateway,
        access: this.#access,
        principal,
        log: this.#log,
        maxBufferedBytes: config.api.wsMaxBufferedBytes,
        maxInflight: MAX_INFLIGHT,
        maxInflightBytes: config.api.wsMaxBufferedBytes,
        checkTimeoutMs: config.api.checkTimeoutMs,
        metrics: this.#o.metrics,
        peers: this.#o.peers,
        authorization,
      });
      if (this.#closing !== undefined) {
        c.dispose();
        ws.close(1001, 'server shutting down');
        return;
      }
      this.#conns.add(c);
      ws.on('close', () => this.#conns.delete(c));
    });
  }

  /** Open connections. */
  get size(): number {
    return this.#conns.size;
  }

  /** Each open connection: buffered bytes, publishes in flight, subscriptions and their unacked. */
  stats(): ConnectionStats[] {
    return [...this.#conns].map((c) => c.stats());
  }

  /** Closes every connection with 1001 (their subscriptions at once) and refuses new ones. */
  close(): Promise<void> {
    return (this.#closing ??= (async () => {
      clearInterval(this.#timer);
      const all = [...this.#conns];
      this.#conns.clear();
      await Promise.all(
        all.map(
          (c) =>
            new Promise<void>((resolve) => {
              c.dispose();
              if (c.ws.readyState === c.ws.CLOSED) return resolve();
              const t = setTimeout(() => c.ws.terminate(), CLOSE_GRACE_MS);
              c.ws.once('close', () => {
                clearTimeout(t);
                resolve();
              });
              c.ws.close(1001, 'server shutting down');
            }),
        ),
      );
      await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    })());
  }
}

/** Answers an upgrade request with the REST error shape, then closes the socket. */
function refuse(socket: Duplex, e: MqgateError): void {
  const body = JSON.stringify(errorBody(e));
  const status = e.statusCode;
  socket.once('finish', () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      (status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '') +
      `\r\n${body}`,
  );
}

/**
 * Serves the WebSocket API on the app's HTTP server (path `/v1/ws`), closes its sockets when
 * the app closes, and decorates the app with it as `wsApi`.
 */
export function attachWebSocket(app: FastifyInstance, o: WsApiOptions): WsApi {
  const api = new WsApi(o);
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    api.upgrade(req, socket, head),
  );
  // before the HTTP server closes: it would wait for the upgraded sockets
  app.addHook('preClose', () => api.close());
  app.decorate('wsApi', api);
  return api;
}
