import crypto from 'node:crypto';
import type { Logger } from 'pino';
import { MqgateError } from '../../errors.js';
import type { CompiledFilter } from '../filter/index.js';
import type { GroupConfig } from '../group-registry.js';
import { ConsumeMode } from '../group-registry.js';
import { isRetryTopic, retryTopic } from '../system-topics.js';
import { allocateAveragely } from './allocate.js';
import type { ConsumeEngine, ReceivedMessage } from './engine.js';
import type { CursorKey } from './queue-cursor.js';
import type { PushDelivery, Settler } from './subscription.js';
import { Subscription } from './subscription.js';

/** How long a pump waits for room for a batch before it takes what little room there is. */
const LOW_ROOM_WAIT_MS = 2;

export interface PushOptions {
  readonly group: GroupConfig;
  readonly topic: string;
  readonly queues: number;
  readonly filter: CompiledFilter | undefined;
  readonly credit: number;
  readonly clientId?: string | undefined;
  readonly ackTimeoutMs: number;
}

/**
 * Push subscriptions of consumer groups: who is subscribed, which queues each holds
 * (AllocateMessageQueueAveragely over the topic's queues plus the group's retry queue,
 * recomputed when a consumer joins, leaves or expires) and the pump that takes messages for a
 * subscriber while it has credit. Broadcasting subscribers hold every queue, with offsets of
 * their own (per client id).
 */
export class PushConsumers implements Settler {
  readonly #engine: ConsumeEngine;
  readonly #log: Logger;
  readonly #queuesOf: (topic: string) => number;
  readonly #groupOf: (group: string) => GroupConfig;
  /** group -> topic -> subscriptions */
  readonly #subs = new Map<string, Map<string, Set<Subscription>>>();

  constructor(parts: {
    engine: ConsumeEngine;
    log: Logger;
    queuesOf: (topic: string) => number;
    groupOf: (group: string) => GroupConfig;
  }) {
    this.#engine = parts.engine;
    this.#log = parts.log;
    this.#queuesOf = parts.queuesOf;
    this.#groupOf = parts.groupOf;
  }

  subscribe(o: PushOptions): Subscription {
    const sub = new Subscription(
      {
        id: crypto.randomUUID(),
        clientId: o.clientId ?? crypto.randomUUID(),
        group: o.group.name,
        topic: o.topic,
        filter: o.filter,
        credit: o.credit,
        ackTimeoutMs: o.ackTimeoutMs,
      },
      this,
    );
    let byTopic = this.#subs.get(o.group.name);
    if (byTopic === undefined) this.#subs.set(o.group.name, (byTopic = new Map()));
    let set = byTopic.get(o.topic);
    if (set === undefined) byTopic.set(o.topic, (set = new Set()));
    set.add(sub);
    this.rebalance(o.group.name, o.topic);
    return sub;
  }

  /** Subscriptions of a group (all topics), for the admin API. */
  list(group: string): Subscription[] {
    return [...(this.#subs.get(group)?.values() ?? [])].flatMap((s) => [...s]);
  }

  all(): Subscription[] {
    return [...this.#subs.keys()].flatMap((g) => this.list(g));
  }

  /** Recomputes which queues each consumer of (group, topic) holds. */
  rebalance(group: string, topic: string): void {
    const set = this.#subs.get(group)?.get(topic);
    if (set === undefined || set.size === 0) return;
    const config = this.#groupOf(group);
    const queues = this.#queuesOf(topic);
    const all = Array.from({ length: queues }, (_, i) => i);
    if (config.consumeMode === ConsumeMode.BROADCASTING) {
      for (const sub of set) {
        sub.queueIds = all;
        sub.retry = false;
        this.pump(sub);
      }
      return;
    }
    // the queue list: the topic's queues, then the retry queue (index `queues`)
    const subs = [...set].sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0));
    subs.forEach((sub, i) => {
      const mine = allocateAveragely(queues + 1, subs.length, i);
      const queueIds = mine.filter((q) => q < queues);
      const retry = mine.includes(queues);
      const lost = new Set(sub.queueIds.filter((q) => !queueIds.includes(q)));
      const lostRetry = sub.retry && !retry;
      sub.queueIds = queueIds;
      sub.retry = retry;
      if (lost.size > 0 || lostRetry) {
        const rt = retryTopic(group);
        this.#engine.release(
          sub.id,
          (c) =>
            c.key.group === group &&
            ((c.key.topic === topic && lost.has(c.key.queueId)) ||
              (lostRetry && c.key.topic === rt && c.key.retryOf === topic)),
        );
        this.#forgetLost(sub, lost, lostRetry);
      }
    });
    for (const sub of subs) this.pump(sub);
  }

  /** Drops the outstanding deliveries of queues a subscriber lost (their handles stop working). */
  #forgetLost(sub: Subscription, lost: Set<number>, lostRetry: boolean): void {
    for (const d of [...sub.outstanding.values()])
      if (isRetryTopic(d.message.storeTopic) ? lostRetry : lost.has(d.message.queueId))
        sub.outstanding.delete(d);
  }

  /** Wakes the subscribers that may take from `topic` (a user or retry topic). */
  wake(topic: string): void {
    if (isRetryTopic(topic)) {
      const group = topic.slice('%RETRY%'.length);
      for (const subs of this.#subs.get(group)?.values() ?? [])
        for (const s of subs) if (s.retry) this.pump(s);
      return;
    }
    for (const byTopic of this.#subs.values()) for (const s of byTopic.get(topic) ?? []) this.pump(s);
  }

  /** Closes subscriptions not heard from since `before`. */
  expire(before: number): number {
    let n = 0;
    for (const sub of this.all())
      if (sub.lastSeen < before) {
        this.#log.info({ group: sub.group, topic: sub.topic, clientId: sub.clientId }, 'consumer expired');
        this.closeSubscription(sub);
        n++;
      }
    return n;
  }

  closeAll(): void {
    for (const sub of this.all()) this.closeSubscription(sub);
  }

  // ------------------------------------------------------------------ Settler

  closeSubscription(sub: Subscription): void {
    const set = this.#subs.get(sub.group)?.get(sub.topic);
    if (set === undefined || !set.delete(sub)) return;
    sub.ended();
    this.#engine.release(sub.id);
    this.rebalance(sub.group, sub.topic);
  }

  ack(sub: Subscription, d: PushDelivery): boolean {
    sub.heartbeat();
    if (!sub.outstanding.delete(d)) return false;
    try {
      this.#engine.ack(sub.group, d.message.topic, undefined, d);
      return true;
    } catch (e) {
      if (e instanceof MqgateError) return false;
      throw e;
    } finally {
      this.pump(sub);
    }
  }

  async nack(
    sub: Subscription,
    d: PushDelivery,
    opts: { delayLevel?: number; deadLetter?: boolean },
  ): Promise<boolean> {
    sub.heartbeat();
    if (!sub.outstanding.delete(d)) return false;
    try {
      await this.#engine.nack(sub.group, d.message.topic, undefined, opts, d);
      return true;
    } catch (e) {
      if (
        e instanceof MqgateError &&
        (e.code === 'MQ_ERR_RECEIPT_EXPIRED' || e.code === 'MQ_ERR_RECEIPT_INVALID')
      )
        return false;
      throw e;
    } finally {
      this.pump(sub);
    }
  }

  /**
   * Takes messages for a subscriber while it has credit; runs once at a time per subscriber,
   * at the end of the event-loop turn, so that the acks of one turn free their credit together
   * and the next take is a batch rather than one message per ack.
   */
  pump(sub: Subscription): void {
    if (sub.closed) return;
    if (sub.pumping) {
      sub.again = true;
      return;
    }
    sub.pumping = true;
    setImmediate(() => {
      void this.#pumpLoop(sub)
        .catch((err: unknown) =>
          this.#log.error({ err, group: sub.group, topic: sub.topic }, 'push delivery failed'),
        )
        .finally(() => {
          sub.pumping = false;
          if (sub.again && !sub.closed) {
            sub.again = false;
            this.pump(sub);
          }
        });
    });
  }

  async #pumpLoop(sub: Subscription): Promise<void> {
    for (;;) {
      sub.again = false;
      const now = Date.now();
      if (now >= sub.expiresFrom) sub.dropExpired(now);
      // a lower bound of the first timeout: a recheck at it at worst finds nothing to drop yet
      const earliest = sub.outstanding.size === 0 ? Infinity : sub.expiresFrom;
      const room = sub.credit - sub.outstanding.size;
      if (room <= 0) {
        // full: look again when the first unsettled delivery times out
        if (earliest !== Infinity) this.#recheckAt(sub, earliest);
        return;
      }
      // Taken in batches: while deliveries are out, wait until a quarter of the credit (at most
      // 32) is free again, so that a subscriber settling as fast as it receives gets batches
      // of 32 (one take, one journal line, one read) rather than a take per settled message.
      // The settles that free the room wake the pump again; a subscriber that stops settling
      // gets the little room it has after LOW_ROOM_WAIT_MS.
      if (room < Math.min(32, (sub.credit + 3) >> 2) && sub.outstanding.size > 0 && !sub.lowRoomWaited) {
        sub.lowRoomTimer ??= setTimeout(() => {
          sub.lowRoomTimer = undefined;
          sub.lowRoomWaited = true;
          this.pump(sub);
        }, LOW_ROOM_WAIT_MS).unref();
        return;
      }
      sub.lowRoomWaited = false;
      if (sub.lowRoomTimer !== undefined) {
        clearTimeout(sub.lowRoomTimer);
        sub.lowRoomTimer = undefined;
      }
      if (sub.queueIds.length === 0 && !sub.retry) return;
      const group = this.#groupOf(sub.group);
      const client = group.consumeMode === ConsumeMode.BROADCASTING ? sub.clientId : '';
      const refs: number[] = [];
      const got = await this.#engine.take({
        group,
        client,
        topic: sub.topic,
        queueIds: sub.queueIds,
        retry: sub.retry,
        keys: this.#keysOf(sub, group, client),
        filter: sub.filter,
        max: Math.min(room, 32),
        invisibleMs: sub.ackTimeoutMs,
        owner: sub.id,
        refs,
      });
      if (sub.closed) return;
      for (let i = 0; i < got.length; i++) sub.push(got[i] as ReceivedMessage, refs, i * 3);
      if (got.length === 0 && !sub.again) {
        if (earliest !== Infinity) this.#recheckAt(sub, earliest);
        return;
      }
    }
  }

  /** The subscriber's cursor keys, made again only when its queues change (a rebalance). */
  #keysOf(sub: Subscription, group: GroupConfig, client: string): CursorKey[] {
    const k = sub.keys;
    if (
      k !== undefined &&
      k.queueIds === sub.queueIds &&
      k.retry === sub.retry &&
      k.list[0]?.client === client
    )
      return k.list;
    const list = this.#engine.keysFor({
      group,
      client,
      topic: sub.topic,
      queueIds: sub.queueIds,
      retry: sub.retry,
    });
    sub.keys = { queueIds: sub.queueIds, retry: sub.retry, list };
    return list;
  }

  #recheckAt(sub: Subscription, at: number): void {
    if (sub.timer !== undefined) clearTimeout(sub.timer);
    sub.timer = setTimeout(
      () => {
        sub.timer = undefined;
        this.pump(sub);
      },
      Math.max(0, at - Date.now()) + 1,
    );
    sub.timer.unref();
  }
}
