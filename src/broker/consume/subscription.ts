import { MqgateError } from '../../errors.js';
import type { CompiledFilter } from '../filter/index.js';
import type { ReceivedMessage } from './engine.js';
import type { CursorKey } from './queue-cursor.js';
import type { HandleData } from './receipt-handle.js';

/** One message pushed to a subscriber, with the means to settle it. */
export interface Delivery {
  readonly message: ReceivedMessage;
  /** True when this call acked it; false when it was settled before or its time passed. */
  ack(): boolean;
  /** Retry later (clustering), suspend the queue (orderly) or drop (broadcasting). */
  nack(opts?: { delayLevel?: number }): Promise<boolean>;
  /** Straight to the dead-letter queue (clustering), as nats' `term()`. */
  term(): Promise<boolean>;
}

/**
 * One message pushed to a subscriber, as handed to it and as kept in `outstanding` until it is
 * settled; it also says what its receipt handle says (so an ack parses no handle and no object
 * per delivery is made for that).
 */
export class PushDelivery implements Delivery, HandleData {
  readonly message: ReceivedMessage;
  readonly cursor: number;
  readonly offset: number;
  readonly version: number;
  readonly #sub: Subscription;
  readonly #settler: Settler;
  #settled = false;

  constructor(
    sub: Subscription,
    message: ReceivedMessage,
    settler: Settler,
    ref: readonly number[],
    at: number,
  ) {
    this.#sub = sub;
    this.message = message;
    this.#settler = settler;
    this.cursor = ref[at] as number;
    this.offset = ref[at + 1] as number;
    this.version = ref[at + 2] as number;
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }

  ack(): boolean {
    return this.#settle() && this.#settler.ack(this.#sub, this);
  }

  async nack(opts: { delayLevel?: number } = {}): Promise<boolean> {
    return this.#settle() && this.#settler.nack(this.#sub, this.message, opts);
  }

  async term(): Promise<boolean> {
    return this.#settle() && this.#settler.nack(this.#sub, this.message, { deadLetter: true });
  }
}

/** What the push side needs from its owner to settle deliveries. */
export interface Settler {
  ack(sub: Subscription, d: PushDelivery): boolean;
  nack(
    sub: Subscription,
    m: ReceivedMessage,
    opts: { delayLevel?: number; deadLetter?: boolean },
  ): Promise<boolean>;
  closeSubscription(sub: Subscription): void;
  pump(sub: Subscription): void;
}

/**
 * A push subscription: an async iterable of {@link Delivery}. The broker never has more than
 * `credit` unsettled deliveries out on it; settling one (or raising the credit) lets the next
 * come. Iterating counts as a heartbeat; a subscription not heard from within the broker's
 * consumer expiry is closed and its unsettled messages go to the other consumers.
 */
export class Subscription implements AsyncIterable<Delivery> {
  readonly id: string;
  readonly clientId: string;
  readonly group: string;
  readonly topic: string;
  readonly filter: CompiledFilter | undefined;
  readonly ackTimeoutMs: number;
  /** Queues of the topic this consumer holds now (all of them when broadcasting). */
  queueIds: number[] = [];
  /** Whether it holds the group's retry queue for the topic. */
  retry = false;
  /** Unsettled deliveries by receipt handle. */
  readonly outstanding = new Map<string, PushDelivery>();
  /**
   * No outstanding delivery times out before this (a lower bound: settling one never lowers
   * it). The pump scans `outstanding` for timed-out deliveries only once it is reached, instead
   * of on every take (a scan of up to `credit` entries per batch).
   */
  expiresFrom = Infinity;
  /** The cursor keys of the last take, with the queue list they were made for (see PushConsumers). */
  keys:
    { readonly queueIds: readonly number[]; readonly retry: boolean; readonly list: CursorKey[] } | undefined;
  lastSeen = Date.now();
  pumping = false;
  again = false;
  timer: NodeJS.Timeout | undefined;
  #credit: number;
  #closed = false;
  readonly #buffer: Delivery[] = [];
  readonly #waiting: ((r: IteratorResult<Delivery>) => void)[] = [];
  readonly #settler: Settler;

  constructor(
    init: {
      id: string;
      clientId: string;
      group: string;
      topic: string;
      filter: CompiledFilter | undefined;
      credit: number;
      ackTimeoutMs: number;
    },
    settler: Settler,
  ) {
    this.id = init.id;
    this.clientId = init.clientId;
    this.group = init.group;
    this.topic = init.topic;
    this.filter = init.filter;
    this.#credit = init.credit;
    this.ackTimeoutMs = init.ackTimeoutMs;
    this.#settler = settler;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get credit(): number {
    return this.#credit;
  }

  /** Sets how many unsettled deliveries this subscriber can hold. */
  setCredit(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > 10_000)
      throw new MqgateError('MQ_ERR_GROUP_INVALID', `credit must be an integer 0..10000, got ${n}`);
    this.#credit = n;
    this.#settler.pump(this);
  }

  heartbeat(): void {
    this.lastSeen = Date.now();
  }

  /** Stops the subscription; its unsettled messages become visible to the group again. */
  close(): void {
    if (this.#closed) return;
    this.#settler.closeSubscription(this);
  }

  /** Called by the broker once the subscription is out of the group. */
  ended(): void {
    this.#closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.#buffer.length = 0;
    for (const w of this.#waiting.splice(0)) w({ done: true, value: undefined });
  }

  /**
   * Called by the broker with a message taken for this subscriber; `ref[at..at+2]` are its
   * cursor number, offset and version (see `TakeOptions.refs`).
   */
  push(m: ReceivedMessage, ref: readonly number[], at: number): void {
    const delivery = new PushDelivery(this, m, this.#settler, ref, at);
    this.outstanding.set(m.receiptHandle, delivery);
    if (m.invisibleUntil < this.expiresFrom) this.expiresFrom = m.invisibleUntil;
    const w = this.#waiting.shift();
    if (w !== undefined) w({ done: false, value: delivery });
    else this.#buffer.push(delivery);
  }

  /**
   * Drops the outstanding deliveries whose time passed at `now` and sets `expiresFrom` to the
   * earliest time left (Infinity when none is left).
   */
  dropExpired(now: number): void {
    let earliest = Infinity;
    for (const [h, { message }] of this.outstanding)
      if (message.invisibleUntil <= now) this.outstanding.delete(h);
      else if (message.invisibleUntil < earliest) earliest = message.invisibleUntil;
    this.expiresFrom = earliest;
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return {
      next: () => {
        this.heartbeat();
        const d = this.#buffer.shift();
        if (d !== undefined) return Promise.resolve({ done: false, value: d });
        if (this.#closed) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.#waiting.push(resolve));
      },
      return: () => {
        this.close();
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}
