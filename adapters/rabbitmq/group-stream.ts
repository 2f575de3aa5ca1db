/**
 * A group's consumer of one topic on RabbitMQ: one channel consuming the group's queues of the
 * topic (one per queue index) with manual acks, as the adapter contract's delivery stream.
 * RabbitMQ holds what is delivered and unacked; this stream hands at most `credit` of it out
 * (the rest waits here, unacked), and an ack or release goes to the broker. After a lost
 * connection it subscribes again on the new one: what was out comes again (RabbitMQ requeues
 * it), and deliveries of the old channel settle nothing.
 *
 * RabbitMQ closes a channel that holds a delivery longer than its `consumer_timeout` (30 min by
 * default). A delivery held for `releaseAfterMs` is therefore given back before that, and comes
 * again; the redelivery RabbitMQ then counts is not counted as an attempt.
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { HandOff } from '../../src/hand-off.js';
import type { StoredMessage } from '../../src/message/message.js';
import type { Delivery, DeliveryStream } from '../spi.js';
import { decode, deliveryCount } from './codec.js';
import type { RabbitConnection } from './connection.js';

export interface GroupStreamOptions {
  readonly credit: number;
  /** One delivery out per queue at a time (prefetch 1 on each). */
  readonly orderly: boolean;
  readonly releaseAfterMs: number;
  /** The broker's retry: a copy after the delay level, or to the DLQ; resolves once it is written. */
  readonly sendBack: (m: StoredMessage, o: { delayLevel?: number; deadLetter?: boolean }) => Promise<void>;
  /** A delivery it refuses is done for the group (acked) and never handed out. */
  readonly accept?: ((m: StoredMessage) => boolean) | undefined;
  readonly logger: Logger;
}

/** How long a stream waits before it subscribes again after a refusal or a cancel. */
const RESUBSCRIBE_MS = 1000;

interface Received {
  readonly msg: ConsumeMessage;
  readonly gen: number;
  readonly at: number;
  out: boolean;
}

export class GroupStream implements DeliveryStream {
  readonly #topic: string;
  readonly #conn: RabbitConnection;
  readonly #queues: readonly string[];
  readonly #o: GroupStreamOptions;
  readonly #out = new HandOff<Delivery>();
  /** Delivered by the broker on the current channel, unacked: waiting here or handed out. */
  readonly #held = new Set<Received>();
  #waiting: Received[] = [];
  #unsettled = 0;
  #ch: Channel | undefined;
  /** Bumped with every channel: a delivery of an older one settles nothing. */
  #gen = 0;
  /** Times this stream gave a message back itself (not a failure: not an attempt). */
  readonly #ownReleases = new Map<string, number>();
  readonly #offUp: () => void;
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(conn: RabbitConnection, topic: string, queues: readonly string[], o: GroupStreamOptions) {
    this.#topic = topic;
    this.#conn = conn;
    this.#queues = queues;
    this.#o = o;
    this.#offUp = conn.onUp((model) => void this.#subscribe(model));
    this.#sweep = setInterval(() => this.#releaseOld(), Math.min(60_000, o.releaseAfterMs / 2));
    this.#sweep.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #subscribe(model: ChannelModel): Promise<void> {
    if (this.#closed) return;
    const gen = ++this.#gen;
    this.#held.clear();
    this.#waiting = [];
    this.#unsettled = 0;
    const old = this.#ch;
    this.#ch = undefined;
    await old?.close().catch(() => {}); // what it held goes back to the queues
    try {
      const ch = await model.createChannel();
      ch.on('error', (err: Error) =>
        this.#o.logger.warn({ err, topic: this.#topic }, 'consumer channel closed'),
      );
      ch.on('close', () => {
        if (this.#ch !== ch) return;
        this.#ch = undefined;
        this.#again(model, gen); // closed by the broker, not with the connection: subscribe anew
      });
      if (this.#closed || gen !== this.#gen) return void (await ch.close().catch(() => {}));
      this.#ch = ch;
      // per consumer (quorum queues have no channel-wide prefetch): together at least credit
      const prefetch = this.#o.orderly ? 1 : Math.max(1, Math.ceil(this.#o.credit / this.#queues.length));
      await ch.prefetch(prefetch, false);
      for (const q of this.#queues)
        await ch.consume(q, (msg) => {
          if (msg === null) {
            // the queue went away or moved (a broker restarting): subscribe anew in a moment
            this.#o.logger.warn({ queue: q }, 'RabbitMQ cancelled the consumer; subscribing again');
            this.#again(model, gen);
          } else if (this.#o.accept !== undefined && !this.#o.accept(decode(this.#topic, msg))) ch.ack(msg);
          else this.#arrived({ msg, gen, at: Date.now(), out: false });
        });
    } catch (err) {
      // the connection went meanwhile (its recovery calls again), or a queue is not there yet
      // (quorum queues come back a moment after their broker): try again on this connection
      this.#o.logger.warn({ err, topic: this.#topic }, 'could not subscribe; trying again');
      this.#again(model, gen);
    }
  }

  /** Subscribes anew on `model` in a second, unless something newer happened meanwhile. */
  #again(model: ChannelModel, gen: number): void {
    setTimeout(() => {
      if (this.#closed || gen !== this.#gen || !this.#conn.isCurrent(model)) return;
      void this.#subscribe(model);
    }, RESUBSCRIBE_MS).unref();
  }

  #arrived(r: Received): void {
    if (this.#closed || r.gen !== this.#gen) return;
    this.#held.add(r);
    this.#waiting.push(r);
    this.#pump();
  }

  #pump(): void {
    while (this.#unsettled < this.#o.credit && this.#waiting.length > 0) {
      const r = this.#waiting.shift() as Received;
      r.out = true;
      this.#unsettled++;
      this.#out.push(this.#delivery(r));
    }
  }

  #delivery(r: Received): Delivery {
    const message = decode(this.#topic, r.msg);
    const own = this.#ownReleases.get(message.msgId) ?? 0;
    this.#ownReleases.delete(message.msgId);
    const attempt = 1 + message.reconsumeTimes + Math.max(0, deliveryCount(r.msg) - own);
    const live = (): Channel | undefined => (this.#held.has(r) && r.gen === this.#gen ? this.#ch : undefined);
    const settle = (how: (ch: Channel) => void): boolean => {
      const ch = live();
      if (ch === undefined) return false;
      this.#held.delete(r);
      this.#unsettled--;
      try {
        how(ch);
      } catch {
        return false; // the channel went: RabbitMQ delivers it again
      } finally {
        this.#pump();
      }
      return true;
    };
    return {
      message,
      deliveryAttempt: attempt,
      ack: async () => settle((ch) => ch.ack(r.msg)),
      release: async () => settle((ch) => ch.nack(r.msg, false, true)),
      // the copy first (it throws when it cannot be written: the delivery stays out), then the ack
      nack: async (o = {}) => {
        if (live() === undefined) return false;
        await this.#o.sendBack(message, o);
        return settle((ch) => ch.ack(r.msg));
      },
    };
  }

  /** Gives back what was held too long (before RabbitMQ's consumer_timeout closes the channel). */
  #releaseOld(): void {
    const ch = this.#ch;
    if (ch === undefined) return;
    const old = Date.now() - this.#o.releaseAfterMs;
    for (const r of this.#held) {
      if (r.at > old) continue;
      this.#held.delete(r);
      if (r.out) this.#unsettled--;
      else this.#waiting = this.#waiting.filter((w) => w !== r);
      const id = String(r.msg.properties.messageId);
      this.#ownReleases.set(id, (this.#ownReleases.get(id) ?? 0) + 1);
      ch.nack(r.msg, false, true);
    }
    this.#pump();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#offUp();
    this.#out.end();
    this.#held.clear();
    this.#waiting = [];
    const ch = this.#ch;
    this.#ch = undefined;
    // closing the channel gives back everything unacked on it
    await ch?.close().catch(() => {});
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this.#out.iterator(() => this.close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
