/**
 * A push subscription straight over a backend's delivery stream, for topics whose broker does
 * the group's retry, its filter (if any) and its orderly delivery (if asked) itself: each
 * delivery goes to the subscriber as it comes, an ack acks at the broker, a nack asks the
 * broker's retry with the group's policy (its back-off, its DLQ past maxReconsumeTimes), and a
 * delivery left unsettled for ackTimeoutMs goes back to the broker. Nothing is journaled: the
 * broker holds what is out, and gives it again if this gateway goes. (The core's POP lane,
 * which keeps invisible times and handles across a restart, is for receives.)
 */
import type { Logger } from 'pino';
import type { BrokerAdapter, Delivery, DeliveryStream } from '../../../adapters/index.js';
import type {
  Broker,
  GroupConfig,
  OffsetTarget,
  ReceivedMessage,
  SubscribeOptions,
} from '../../broker/index.js';
import { ConsumeMode, exhausted, retryLevel } from '../../broker/index.js';
import { HandOff } from '../../hand-off.js';
import type { GatewayDelivery, GatewaySubscription } from '../contract.js';
import { CreditedSubscription } from './credited-subscription.js';

let handles = 0;

/** Where a group without offsets starts, as the adapter contract takes it. */
function startOf(g: GroupConfig): OffsetTarget {
  return g.consumeFrom === 'TIMESTAMP' ? (g.consumeTimestamp ?? Date.now() - 1_800_000) : g.consumeFrom;
}

export class DirectSubscription extends CreditedSubscription implements GatewaySubscription {
  protected readonly kind = 'push subscription';
  protected readonly logger: Logger;
  readonly #adapter: BrokerAdapter;
  readonly #queues: number;
  readonly #o: SubscribeOptions & { credit: number };
  readonly #broker: Broker;
  readonly #g: GroupConfig;
  readonly #ackTimeoutMs: number;
  readonly #out = new Map<string, { d: Delivery; g: GatewayDelivery; until: number }>();
  readonly #handOff = new HandOff<GatewayDelivery>();
  readonly #sweep: NodeJS.Timeout;
  #stream: DeliveryStream | undefined;
  #closed = false;
  readonly outstanding: GatewaySubscription['outstanding'];

  constructor(o: {
    adapter: BrokerAdapter;
    broker: Broker;
    group: GroupConfig;
    topic: string;
    queues: number;
    options: SubscribeOptions & { credit: number; ackTimeoutMs: number };
    log: Logger;
  }) {
    super(o.group.name, o.topic, o.options.credit);
    this.#adapter = o.adapter;
    this.#queues = o.queues;
    this.#o = o.options;
    this.#broker = o.broker;
    this.#g = o.group;
    this.#ackTimeoutMs = o.options.ackTimeoutMs;
    this.logger = o.log;
    const out = this.#out;
    this.outstanding = {
      get size(): number {
        return out.size;
      },
      byHandle: (handle) => out.get(handle)?.g,
    };
    this.#sweep = setInterval(() => this.#expire(), Math.min(1000, Math.max(50, this.#ackTimeoutMs / 4)));
    this.#sweep.unref();
  }

  protected async run(): Promise<void> {
    const [adapter, queues, o] = [this.#adapter, this.#queues, this.#o];
    const broadcast = this.#g.consumeMode === ConsumeMode.BROADCASTING;
    // a broadcasting consumer is a group of its own at the broker
    const group = broadcast
      ? `${this.group}%${o.clientId ?? `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`}`
      : this.group;
    await adapter.ensureTopic(this.topic, queues);
    await adapter.ensureGroup(group, this.topic, {
      orderly: this.#g.orderly,
      member: broadcast,
      filter: o.filter,
      from: startOf(this.#g),
    });
    this.started();
    if (this.#closed) return;
    // the broker holds at most the credit asked at subscribe; a later credit frame can lower it
    const stream = (this.#stream = adapter.consume(group, this.topic, {
      credit: o.credit,
      orderly: this.#g.orderly,
      filter: o.filter,
    }));
    const it = stream[Symbol.asyncIterator]();
    while (!this.#closed) {
      while (this.#out.size >= this.credit && !this.#closed) await this.room();
      const next = await it.next();
      if (next.done === true) break;
      if (this.#closed) {
        await next.value.release();
        break;
      }
      this.#hand(next.value);
    }
  }

  #hand(d: Delivery): void {
    const handle = `d.${(++handles).toString(36)}`;
    const until = Date.now() + this.#ackTimeoutMs;
    const message: ReceivedMessage = {
      ...d.message,
      topic: this.topic,
      reconsumeTimes: d.deliveryAttempt - 1,
      deliveryAttempt: d.deliveryAttempt,
      receiptHandle: handle,
      invisibleUntil: until,
      storeTopic: this.topic,
    };
    const g: GatewayDelivery = {
      message,
      ack: () => {
        if (!this.#settled(handle)) return false;
        void d.ack();
        return true;
      },
      nack: async (o = {}) => {
        if (!this.#settled(handle)) return false;
        await this.#nack(d, o);
        return true;
      },
    };
    this.#out.set(handle, { d, g, until });
    this.#handOff.push(g);
  }

  #settled(handle: string): boolean {
    const ok = this.#out.delete(handle);
    if (ok) this.wake();
    return ok;
  }

  /** The group's policy, the broker's mechanism: drop (broadcasting), suspend (orderly), retry or DLQ. */
  async #nack(d: Delivery, o: { delayLevel?: number }): Promise<void> {
    const g = this.#g;
    if (o.delayLevel !== undefined) this.#broker.levels.check(o.delayLevel);
    if (g.consumeMode === ConsumeMode.BROADCASTING) return void (await d.ack());
    const failures = d.deliveryAttempt - 1;
    if (g.orderly && !exhausted(g, failures)) {
      // the queue waits for it (one in flight): back after the suspension, first in line
      const wait = o.delayLevel === undefined ? g.suspendMs : this.#broker.levels.delayOf(o.delayLevel);
      setTimeout(() => void d.release(), wait).unref();
      return;
    }
    if (exhausted(g, failures)) await d.nack({ deadLetter: true });
    else await d.nack({ delayLevel: o.delayLevel ?? retryLevel(g, failures, this.#broker.levels) });
  }

  /** Deliveries left unsettled past ackTimeoutMs go back to the broker. */
  #expire(): void {
    const now = Date.now();
    for (const [handle, e] of this.#out)
      if (e.until <= now) {
        this.#out.delete(handle);
        void e.d.release();
        this.wake();
      }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.wake();
    this.#handOff.end();
    this.#out.clear();
    // what is unsettled goes back to the broker with the stream
    void this.#stream?.close();
  }

  [Symbol.asyncIterator](): AsyncIterator<GatewayDelivery> {
    return this.#handOff.iterator(() => this.close());
  }
}
