/**
 * A push subscription the core makes over a backend's stream (when the topic's POP, retry,
 * filter, orderly or broadcasting is the core's): receives from the core's POP as credit
 * allows, the topic's retries first, and hands them to the subscriber. An unsettled delivery
 * comes back after ackTimeoutMs, as on the embedded log.
 */
import type { Logger } from 'pino';
import type { Broker, GroupConfig, ReceivedMessage, SubscribeOptions } from '../../broker/index.js';
import { ConsumeMode } from '../../broker/index.js';
import { HandOff } from '../../hand-off.js';
import type { Backend } from '../backends.js';
import type { GatewayDelivery, GatewaySubscription } from '../contract.js';
import type { CoreDuties, CorePop } from './core-pop.js';
import { CreditedSubscription } from './credited-subscription.js';
import { received } from './pop-lane.js';

/** How long one round waits for a message before it looks again. */
const ROUND_MS = 250;

export class CoreSubscription extends CreditedSubscription implements GatewaySubscription {
  protected readonly kind = 'core subscription';
  protected readonly logger: Logger;
  readonly #pop: CorePop;
  readonly #broker: Broker;
  readonly #b: Backend;
  readonly #g: GroupConfig;
  readonly #o: SubscribeOptions & { credit: number; ackTimeoutMs: number };
  readonly #duties: CoreDuties;
  /** Broadcasting: this consumer's own broker-side group. */
  readonly #member: string;
  readonly #out = new Map<string, GatewayDelivery>();
  readonly #handOff = new HandOff<GatewayDelivery>();
  #closed = false;

  readonly outstanding: GatewaySubscription['outstanding'];

  constructor(o: {
    pop: CorePop;
    broker: Broker;
    backend: Backend;
    group: GroupConfig;
    topic: string;
    options: SubscribeOptions & { credit: number; ackTimeoutMs: number };
    duties: CoreDuties;
    log: Logger;
  }) {
    super(o.group.name, o.topic, o.options.credit);
    this.#pop = o.pop;
    this.#broker = o.broker;
    this.#b = o.backend;
    this.#g = o.group;
    this.#o = o.options;
    this.#duties = o.duties;
    this.logger = o.log;
    const broadcast = o.group.consumeMode === ConsumeMode.BROADCASTING;
    this.#member = broadcast
      ? (o.options.clientId ?? `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`)
      : '';
    const out = this.#out;
    this.outstanding = {
      get size(): number {
        return out.size;
      },
      byHandle: (handle) => out.get(handle),
    };
  }

  protected async run(): Promise<void> {
    const laneGroup = this.#member === '' ? this.group : `${this.group}%${this.#member}`;
    const lane = await this.#pop.lane(
      this.#b,
      this.#g,
      this.topic,
      this.#duties,
      this.#member,
      this.#o.filter,
    );
    this.started();
    const filter =
      this.#duties.filter && this.#o.filter !== undefined ? this.#pop.compiled(this.#o.filter) : undefined;
    while (!this.#closed) {
      const now = Date.now();
      for (const [h, d] of this.#out) if (d.message.invisibleUntil <= now) this.#out.delete(h);
      const room = this.credit - this.#out.size;
      if (room <= 0) {
        await this.room(ROUND_MS);
        continue;
      }
      const max = Math.min(32, room);
      const got: GatewayDelivery[] = [];
      if (this.#member === '')
        for (const m of await this.#broker.receiveRetries(this.group, {
          topic: this.topic,
          maxMessages: max,
          invisibleMs: this.#o.ackTimeoutMs,
          filter: this.#o.filter,
        }))
          got.push(this.#retryDelivery(m));
      for (const h of lane.take(max - got.length, this.#o.ackTimeoutMs, filter))
        got.push(this.#coreDelivery(received(h, this.topic), laneGroup));
      if (got.length === 0) await lane.waitReady(ROUND_MS);
      for (const d of got) this.#hand(d);
    }
  }

  #hand(d: GatewayDelivery): void {
    if (this.#closed) return;
    this.#out.set(d.message.receiptHandle, d);
    this.#handOff.push(d);
  }

  #settled(handle: string): boolean {
    const ok = this.#out.delete(handle);
    if (ok) this.wake();
    return ok;
  }

  #coreDelivery(message: ReceivedMessage, laneGroup: string): GatewayDelivery {
    const h = message.receiptHandle;
    return {
      message,
      ack: () => {
        if (!this.#settled(h)) return false;
        this.#pop
          .ack(this.#b, laneGroup, this.topic, h)
          .catch((err: unknown) => this.logger.warn({ err }, 'ack failed'));
        return true;
      },
      nack: async (o = {}) => {
        if (!this.#settled(h)) return false;
        await this.#pop.nack(this.#b, laneGroup, this.topic, h, o);
        return true;
      },
    };
  }

  /** A retry copy the broker keeps for this topic (its handle is the broker's). */
  #retryDelivery(message: ReceivedMessage): GatewayDelivery {
    const h = message.receiptHandle;
    return {
      message,
      ack: () => {
        if (!this.#settled(h)) return false;
        this.#broker.ack(this.group, this.topic, h);
        return true;
      },
      nack: async (o = {}) => {
        if (!this.#settled(h)) return false;
        await this.#broker.nack(this.group, this.topic, h, o);
        return true;
      },
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.wake();
    this.#handOff.end();
    for (const h of this.#out.keys())
      try {
        if (h.startsWith('p.'))
          this.#pop.release(
            this.#b,
            this.#member === '' ? this.group : `${this.group}%${this.#member}`,
            this.topic,
            h,
          );
        else this.#broker.release(this.group, this.topic, h);
      } catch {
        // its time passed already: it goes out again by itself
      }
    this.#out.clear();
    if (this.#member !== '') void this.#pop.closeMember(this.#b, this.group, this.topic, this.#member);
  }

  [Symbol.asyncIterator](): AsyncIterator<GatewayDelivery> {
    return this.#handOff.iterator(() => this.close());
  }
}
