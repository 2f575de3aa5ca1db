import type { Logger } from 'pino';
import type { Delivery, DeliveryStream } from '../../../adapters/index.js';
import type { MessageFilter } from '../../store/index.js';
import type { ReceivedMessage } from '../../broker/index.js';
import type { StoredMessage } from '../../message/message.js';
import { MqgateError } from '../../errors.js';
import type { PopJournal } from './pop-journal.js';

/** One message of the stream as the core holds it. */
export interface Held {
  d: Delivery;
  readonly m: StoredMessage;
  attempt: number;
  /** 0 while waiting to be handed out; the current hand-out's version after. */
  version: number;
  until: number;
  timer: NodeJS.Timeout | undefined;
}

/** What a lane does when an invisible time passes (the caller applies the group's rules). */
export type OnExpired = (lane: PopLane, h: Held) => void;

let versions = Math.floor(Math.random() * 1e9);

/**
 * The core's POP for one group on one topic of one backend: the broker's delivery stream is
 * read into `ready`; a receive hands messages out invisible for a while under receipt handles
 * `p.{msgId}.{version}`; ack settles the broker's delivery; an invisible time that passes
 * hands the message back to `onExpired`. What is handed out is journaled (see PopJournal), so
 * a restarted gateway keeps the invisible times and handles of messages the broker redelivers.
 */
export class PopLane {
  readonly key: string;
  readonly #stream: DeliveryStream;
  readonly #journal: PopJournal;
  readonly #log: Logger;
  readonly #orderly: boolean;
  readonly #onExpired: OnExpired;
  readonly #ready: Held[] = [];
  /** The same messages as #ready, by msgId (a redelivery finds its earlier delivery here). */
  readonly #readyById = new Map<string, Held>();
  readonly #out = new Map<string, Held>();
  /** When a receive last took from this lane (an idle lane gives back what it holds). */
  lastTake = Date.now();
  /** Orderly: the queues with a message out. */
  readonly #busy = new Set<number>();
  #wake: (() => void)[] = [];

  constructor(o: {
    key: string;
    stream: DeliveryStream;
    journal: PopJournal;
    log: Logger;
    orderly: boolean;
    onExpired: OnExpired;
  }) {
    this.key = o.key;
    this.#stream = o.stream;
    this.#journal = o.journal;
    this.#log = o.log;
    this.#orderly = o.orderly;
    this.#onExpired = o.onExpired;
    void this.#read();
  }

  async #read(): Promise<void> {
    try {
      for await (const d of this.#stream) this.#arrived(d);
    } catch (err) {
      this.#log.error({ err, lane: this.key }, 'backend stream failed');
    }
  }

  #arrived(d: Delivery): void {
    const m = d.message;
    const held = this.#out.get(m.msgId) ?? this.#readyById.get(m.msgId);
    if (held !== undefined) {
      // the broker gave it again (a lost connection, a release before its timeout): the new
      // delivery is the one to settle; the handle and invisible time stay as they are
      held.d = d;
      return;
    }
    const known = this.#journal.lane(this.key).get(m.msgId);
    if (known?.owed === true) {
      // acked by its consumer while the broker could not take the ack: take it now
      void d.ack().then((ok) => ok && this.#journal.done(this.key, m.msgId));
      return;
    }
    const h: Held = {
      d,
      m,
      attempt: Math.max(d.deliveryAttempt, known?.attempt ?? 0),
      version: 0,
      until: 0,
      timer: undefined,
    };
    if (known !== undefined && known.until > Date.now()) {
      // handed out before a restart and still invisible: its handle stays good
      h.version = known.version;
      this.#handOut(h, known.until, false);
      return;
    }
    if (known !== undefined) h.attempt = known.attempt + 1;
    this.#ready.push(h);
    this.#readyById.set(m.msgId, h);
    this.#notify();
  }

  #notify(): void {
    for (const w of this.#wake.splice(0)) w();
  }

  /** Resolves when something may be ready, or after `ms`. */
  waitReady(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wake.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Hands out up to `max`; messages the filter refuses are done for the group (acked). */
  take(max: number, invisibleMs: number, filter: MessageFilter | undefined): Held[] {
    this.lastTake = Date.now();
    const got: Held[] = [];
    const until = Date.now() + invisibleMs;
    for (let i = 0; i < this.#ready.length && got.length < max;) {
      const h = this.#ready[i] as Held;
      if (this.#orderly && this.#busy.has(h.m.queueId)) {
        i++;
        continue;
      }
      this.#ready.splice(i, 1);
      this.#readyById.delete(h.m.msgId);
      if (filter?.matchMessage !== undefined && !filter.matchMessage(h.m)) {
        void h.d.ack();
        continue;
      }
      h.version = ++versions;
      this.#handOut(h, until, true);
      got.push(h);
    }
    return got;
  }

  #handOut(h: Held, until: number, journal: boolean): void {
    h.until = until;
    this.#out.set(h.m.msgId, h);
    if (this.#orderly) this.#busy.add(h.m.queueId);
    if (journal) this.#journal.out(this.key, h.m.msgId, h.version, until, h.attempt);
    this.#arm(h);
  }

  #arm(h: Held): void {
    if (h.timer !== undefined) clearTimeout(h.timer);
    h.timer = setTimeout(() => this.#expired(h, h.version), Math.max(0, h.until - Date.now()));
    h.timer.unref();
  }

  #expired(h: Held, version: number): void {
    if (this.#out.get(h.m.msgId) !== h || h.version !== version) return;
    this.#onExpired(this, h);
  }

  /** The hand-out a handle names. @throws MqgateError `MQ_ERR_RECEIPT_EXPIRED` */
  resolve(msgId: string, version: number): Held {
    const h = this.#out.get(msgId);
    if (h === undefined || h.version !== version)
      throw new MqgateError(
        'MQ_ERR_RECEIPT_EXPIRED',
        'the message was acked, redelivered or given a newer handle since this one',
      );
    if (h.until <= Date.now())
      throw new MqgateError(
        'MQ_ERR_RECEIPT_EXPIRED',
        'the invisible time of this delivery has passed; the message goes out again',
      );
    return h;
  }

  /** Gives a hand-out a new invisible time and version (a new handle). */
  change(h: Held, until: number): void {
    h.version = ++versions;
    h.until = until;
    this.#journal.out(this.key, h.m.msgId, h.version, until, h.attempt);
    this.#arm(h);
  }

  /** Back to the front of the line, to go out again (attempt + 1). */
  again(h: Held): void {
    this.#drop(h);
    h.attempt++;
    h.version = 0;
    this.#ready.unshift(h);
    this.#readyById.set(h.m.msgId, h);
    this.#notify();
  }

  /** Back to the broker, which delivers it again (where the broker keeps the count). */
  async giveBack(h: Held): Promise<void> {
    this.#drop(h);
    await h.d.release().catch(() => false);
    this.#journal.done(this.key, h.m.msgId);
  }

  /** Done for the group: the broker's delivery is acked (or owed, if the broker is away). */
  async finish(h: Held): Promise<void> {
    this.#drop(h);
    const ok = await h.d.ack().catch(() => false);
    if (ok) this.#journal.done(this.key, h.m.msgId);
    else this.#journal.owed(this.key, h.m.msgId);
  }

  /** Done for the group by a settle of its own (the broker's retry took it): only forgotten here. */
  forget(h: Held): void {
    this.#drop(h);
    this.#journal.done(this.key, h.m.msgId);
  }

  #drop(h: Held): void {
    if (h.timer !== undefined) clearTimeout(h.timer);
    h.timer = undefined;
    if (this.#out.get(h.m.msgId) === h) {
      this.#out.delete(h.m.msgId);
      if (this.#orderly) {
        this.#busy.delete(h.m.queueId);
        this.#notify();
      }
    }
  }

  /** Messages handed out and not settled. */
  get out(): number {
    return this.#out.size;
  }

  get held(): number {
    return this.#out.size + this.#ready.length;
  }

  async close(): Promise<void> {
    for (const h of this.#out.values()) if (h.timer !== undefined) clearTimeout(h.timer);
    this.#notify();
    await this.#stream.close();
  }
}

/** A hand-out as the API gives it. */
export function received(h: Held, topic: string): ReceivedMessage {
  return {
    ...h.m,
    topic,
    reconsumeTimes: h.attempt - 1,
    deliveryAttempt: h.attempt,
    receiptHandle: `p.${h.m.msgId}.${h.version}`,
    invisibleUntil: h.until,
    storeTopic: topic,
  };
}

/** The msgId and version of a core receipt handle; undefined for any other handle. */
export function parseCoreHandle(handle: string): { msgId: string; version: number } | undefined {
  const m = /^p\.([0-9A-F]{32})\.(\d+)$/.exec(handle);
  return m === null ? undefined : { msgId: m[1] as string, version: Number(m[2]) };
}
