/**
 * One AMQP connection to RabbitMQ that comes back by itself: amqplib's recovering connection
 * reconnects with back-off; on every (re)connect this class opens the confirm channel for
 * publishing and the channel for declarations, declares the base topology, and tells its
 * listeners (the consumers re-subscribe). While it is down, publishes fail at once.
 */
import type { Channel, ChannelModel, ConfirmChannel, RecoveringChannelModel } from 'amqplib';
import { connect } from 'amqplib';
import type { Logger } from 'pino';
import { MqgateError } from '../../src/errors.js';
import { withTimeout } from '../../src/with-timeout.js';
import { ConfirmPublisher } from './publisher.js';
import { declareBase } from './topology.js';

export interface ConnectionOptions {
  readonly url: string;
  readonly name: string;
  readonly confirmTimeoutMs: number;
  /** How long connect() waits for the first connection before it reports the broker down. */
  readonly connectTimeoutMs: number;
  /** Frames out at once, no Nagle delay (consumers' acks); publishers gain from coalescing. */
  readonly noDelay: boolean;
  readonly logger: Logger;
}

type UpListener = (model: ChannelModel) => void;

export class RabbitConnection {
  readonly publisher: ConfirmPublisher;
  readonly #o: ConnectionOptions;
  #recovering: RecoveringChannelModel | undefined;
  #model: ChannelModel | undefined;
  #admin: Channel | undefined;
  #lastError: string | undefined = 'not connected yet';
  #version = '';
  #blocked: string | undefined;
  readonly #up = new Set<UpListener>();
  #waiters: (() => void)[] = [];

  constructor(o: ConnectionOptions) {
    this.#o = o;
    this.publisher = new ConfirmPublisher(o.name, o.confirmTimeoutMs);
    this.publisher.blocked = () => this.#blocked;
  }

  /** Starts the connection (once) and waits for it up to connectTimeoutMs. */
  async open(): Promise<void> {
    if (this.#recovering === undefined) {
      this.#recovering = await connect(withHeartbeat(this.#o.url), {
        // a handshake that never ends (a broker still starting) is an attempt that failed
        timeout: this.#o.connectTimeoutMs,
        noDelay: this.#o.noDelay,
        recovery: {
          initialDelay: 200,
          maxDelay: 2000,
          waitForConnect: false,
          setup: (model: ChannelModel) =>
            withTimeout(this.#setup(model), this.#o.connectTimeoutMs * 2, 'no set-up'),
        },
      });
      this.#recovering.on('connect', (model: ChannelModel) => this.#connected(model));
      this.#recovering.on('disconnect', (err: Error) => this.#lost(err.message));
      this.#recovering.on('connect-failed', (err: Error) => (this.#lastError = err.message));
      this.#recovering.on(
        'reconnect-scheduled',
        (i: { error: Error }) => (this.#lastError = i.error.message),
      );
      this.#recovering.on('error', (err: Error) => (this.#lastError = err.message));
      // a memory or disk alarm: RabbitMQ stops reading from publishers; sends fail now, not at the timeout
      this.#recovering.on('blocked', (reason: string) => {
        this.#blocked = `RabbitMQ blocks publishers (${reason})`;
        this.#o.logger.warn({ reason }, 'RabbitMQ blocks publishers');
      });
      this.#recovering.on('unblocked', () => (this.#blocked = undefined));
    }
    if (this.#model !== undefined) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== done);
        reject(
          new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', `${this.#o.name}: ${this.#lastError ?? 'no answer'}`),
        );
      }, this.#o.connectTimeoutMs);
      const done = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.#waiters.push(done);
    });
  }

  async #setup(model: ChannelModel): Promise<void> {
    const pub: ConfirmChannel = await model.createConfirmChannel();
    pub.on('error', (err: Error) => this.#o.logger.warn({ err }, 'publish channel closed'));
    // a channel closed by an error (not the connection) is opened again on the same connection
    pub.on('close', () => {
      if (this.#model === model) void this.#reopenPublisher(model);
    });
    const admin = await model.createChannel();
    admin.on('error', () => {});
    admin.on('close', () => {
      if (this.#admin === admin) this.#admin = undefined;
    });
    await declareBase(admin);
    this.#admin = admin;
    this.publisher.attach(pub);
  }

  async #reopenPublisher(model: ChannelModel): Promise<void> {
    try {
      const pub = await model.createConfirmChannel();
      pub.on('error', (err: Error) => this.#o.logger.warn({ err }, 'publish channel closed'));
      pub.on('close', () => {
        if (this.#model === model) void this.#reopenPublisher(model);
      });
      this.publisher.attach(pub);
    } catch {
      // the connection is going too: the recovery opens everything again
    }
  }

  #connected(model: ChannelModel): void {
    this.#model = model;
    this.#lastError = undefined;
    const props = (model.connection as unknown as { serverProperties?: { version?: unknown } })
      .serverProperties;
    this.#version = String(props?.version ?? '');
    const [major = 0, minor = 0] = this.#version.split('.').map(Number);
    if (major * 100 + minor < 310) {
      // quorum queues with message TTL and at-least-once dead-lettering came with 3.10
      this.#lastError = `RabbitMQ ${this.#version} is too old: mqgate needs 3.10 or later`;
      this.#o.logger.error(this.#lastError);
      this.publisher.detach(this.#lastError);
      return;
    }
    this.#o.logger.info({ version: this.#version }, 'connected to RabbitMQ');
    for (const w of this.#waiters.splice(0)) w();
    for (const l of this.#up) l(model);
  }

  #lost(why: string): void {
    this.#model = undefined;
    this.#blocked = undefined;
    this.#admin = undefined;
    this.#lastError = why;
    this.publisher.detach(why);
    this.#o.logger.warn({ why }, 'lost the connection to RabbitMQ; reconnecting');
  }

  get up(): boolean {
    return this.#model !== undefined && this.publisher.ready && this.#blocked === undefined;
  }

  get lastError(): string | undefined {
    return this.#blocked ?? this.#lastError;
  }

  /** Why publishes are refused now (an alarm), or undefined. */
  get blocked(): string | undefined {
    return this.#blocked;
  }

  /** The server's version, e.g. `3.10.8` (empty before the first connection). */
  get serverVersion(): string {
    return this.#version;
  }

  /** Whether `model` is the connection in use (not one lost since). */
  isCurrent(model: ChannelModel): boolean {
    return this.#model === model;
  }

  /** The current connection, or the 503 a caller answers while it is down. */
  model(): ChannelModel {
    if (this.#model === undefined)
      throw new MqgateError(
        'MQ_ERR_BACKEND_UNAVAILABLE',
        `${this.#o.name}: ${this.#lastError ?? 'not connected'}`,
      );
    return this.#model;
  }

  /**
   * Runs declarations on the shared channel; a declaration the broker refuses closes that
   * channel, so a fresh one is opened for the next.
   */
  async declare<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    const model = this.model();
    if (this.#admin === undefined) {
      const ch = await model.createChannel();
      ch.on('error', () => {});
      ch.on('close', () => {
        if (this.#admin === ch) this.#admin = undefined;
      });
      this.#admin = ch;
    }
    try {
      return await fn(this.#admin);
    } catch (e) {
      this.#admin = undefined;
      throw new MqgateError(
        'MQ_ERR_BACKEND_REFUSED',
        `${this.#o.name}: ${e instanceof Error ? e.message : String(e)}`,
        {
          cause: e,
        },
      );
    }
  }

  /** Called with the connection each time it is (re)made; now too, when it is up. */
  onUp(l: UpListener): () => void {
    this.#up.add(l);
    if (this.#model !== undefined) l(this.#model);
    return () => this.#up.delete(l);
  }

  async close(): Promise<void> {
    const r = this.#recovering;
    this.#recovering = undefined;
    this.#model = undefined;
    this.publisher.detach('closed');
    await r?.close();
  }
}

/**
 * The URL with a 5 s heartbeat unless it names one: a broker that vanishes without closing
 * the connection (killed, a network gone) is noticed within seconds, not at the next write.
 */
function withHeartbeat(url: string): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', '5');
    return u.toString();
  } catch {
    return url; // amqplib says what is wrong with it
  }
}
