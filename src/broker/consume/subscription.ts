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
    return this.#settle() && this.#settler.nack(this.#sub, this, opts);
  }

  async term(): Promise<boolean> {
    return this.#settle() && this.#settler.nack(this.#sub, this, { deadLetter: true });
  }
}

/**
 * A subscriber's unsettled deliveries, by cursor number and offset (what a receipt handle
 * names): numbers, so a delivery is kept and settled without making or hashing its handle's
 * text, which is made only when someone reads it (the WebSocket layer, to send it).
 */
export class Outstanding {
  readonly #byCursor = new Map<number, Map<number, PushDelivery>>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(cursor: number, offset: number): PushDelivery | undefined {
    return this.#byCursor.get(cursor)?.get(offset);
  }

  set(d: PushDelivery): void {
    let m = this.#byCursor.get(d.cursor);
    if (m === undefined) this.#byCursor.set(d.cursor, (m = new Map()));
    const before = m.size;
    m.set(d.offset, d);
    this.#size += m.size - before;
  }

  /** Removes `d` (this very delivery, not a later one of the same offset); true when it was kept. */
  delete(d: PushDelivery): boolean {
    const m = this.#byCursor.get(d.cursor);
    if (m?.get(d.offset) !== d) return false;
    m.delete(d.offset);
    this.#size--;
    return true;
  }

  /** The delivery a receipt handle names, if it is still unsettled here. */
  byHandle(handle: string): PushDelivery | undefined {
    const dot = handle.indexOf('.');
    const dot2 = handle.indexOf('.', dot + 1);
    if (dot <= 0 || dot2 <= dot + 1) return undefined;
    const d = this.get(Number(handle.slice(0, dot)), Number(handle.slice(dot + 1, dot2)));
    return d !== undefined && d.message.receiptHandle === handle ? d : undefined;
  }

  *values(): IterableIterator<PushDelivery> {
    for (const m of this.#byCursor.values()) yield* m.values();
  }
}

/** What the push side needs from its owner to settle deliveries. */
export interface Settler {
  ack(sub: Subscription, d: PushDelivery): boolean;
  nack(
    sub: Subscription,
    d: PushDelivery,
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
/** A subscriber's credit as asked (a credit frame, a subscribe), checked: 0..10000. */
export function checkedCredit(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 10_000)
    throw new MqgateError('MQ_ERR_GROUP_INVALID', `credit must be an integer 0..10000, got ${n}`);
  return n;
}

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
  /** Unsettled deliveries. */
  readonly outstanding = new Outstanding();
  /**
   * No outstanding delivery times out before this (a lower bound: settling one never lowers
   * it). The pump scans `outstanding` for timed-out deliveries only once it is reached, instead
   * of on every take (a scan of up to `credit` entries per batch).
   */
  expiresFrom = Infinity;
  /** The cursor keys of the last take, with the queue list they were made for (see PushConsumers). */
  keys:
    { readonly queueIds: readonly number[]; readonly retry: boolean; readonly list: CursorKey[] } | undefined;
  #lastSeen = Date.now();
  /** Heard from since `lastSeen` was last read (a clock read per message costs more than this). */
  #beat = false;
  pumping = false;
  again = false;
  timer: NodeJS.Timeout | undefined;
  /** Waiting for room for a batch (see PushConsumers); the wait is over once `lowRoomWaited`. */
  lowRoomTimer: NodeJS.Timeout | undefined;
  lowRoomWaited = false;
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
    this.#credit = checkedCredit(n);
    this.#settler.pump(this);
  }

  heartbeat(): void {
    this.#beat = true;
  }

  /**
   * When the subscriber was last heard from: read by the expiry check, which runs often next
   * to the expiry time, so a heartbeat is dated at the first check after it (never earlier).
   */
  get lastSeen(): number {
    if (this.#beat) {
      this.#beat = false;
      this.#lastSeen = Date.now();
    }
    return this.#lastSeen;
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
    if (this.lowRoomTimer !== undefined) clearTimeout(this.lowRoomTimer);
    this.#buffer.length = 0;
    for (const w of this.#waiting.splice(0)) w({ done: true, value: undefined });
  }

  /**
   * Called by the broker with a message taken for this subscriber; `ref[at..at+2]` are its
   * cursor number, offset and version (see `TakeOptions.refs`).
   */
  push(m: ReceivedMessage, ref: readonly number[], at: number): void {
    const delivery = new PushDelivery(this, m, this.#settler, ref, at);
    this.outstanding.set(delivery);
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
    for (const d of [...this.outstanding.values()]) {
      const until = d.message.invisibleUntil;
      if (until <= now) this.outstanding.delete(d);
      else if (until < earliest) earliest = until;
    }
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
