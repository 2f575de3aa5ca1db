import type { Logger } from 'pino';
import { isMqgateError } from '../../errors.js';
import type { MessageInput, StoredMessage } from '../../message/message.js';
import type { MessageStore } from '../../store/index.js';
import type { ConsumerState } from '../consume/consumer-state.js';
import type { CursorKey, QueueCursor } from '../consume/queue-cursor.js';
import type { DelayLevels } from '../delay-levels.js';
import type { ForwarderRef } from '../forwarder.js';
import { SCHEDULE_TOPIC, TIMER_TOPIC } from '../system-topics.js';
import { Lateness } from './lateness.js';
import { ScheduleProp, dueMessage } from './schedule-props.js';
import { TimerHeap } from './timer-heap.js';

const LEVEL_GROUP = '%SCHEDULE%';
/** A due message its backend did not confirm is tried again this much later. */
const RETRY_FORWARD_MS = 1000;
const TIMER_GROUP = '%TIMER%';
const PAGE = 256;

/**
 * Delayed and timed delivery over the log (RocketMQ's ScheduleMessageService and timer):
 *
 * - a message with a delay level waits in `SCHEDULE_TOPIC_XXXX`, queue level − 1; a level's
 *   messages are due in the order they were stored, so one service per level reads its queue
 *   in order and sleeps until the head is due;
 * - a message with a delivery time waits in the timer topic; a heap of (due, queue offset) in
 *   typed arrays indexes them (the messages stay on disk) and one timer fires the earliest.
 *
 * Progress is kept as queue cursors in the consumer state (journaled like group offsets): a
 * delivery is written to the real topic first and marked done after, so a crash between the
 * two would deliver again; to prevent that, a record stored before this process started is
 * looked up in its real topic (by msgId, and the `__SCHEDULED_FROM` offset it carries) before
 * it is delivered. A restart thus neither loses nor repeats a delivery; it can only be late.
 */
export class Scheduler {
  readonly #store: MessageStore;
  readonly #state: ConsumerState;
  readonly #levels: DelayLevels;
  readonly #log: Logger;
  readonly #forwarder: ForwarderRef;
  readonly #startedAt = Date.now();
  readonly #levelTimers = new Map<number, NodeJS.Timeout>();
  readonly #running = new Map<number, Promise<void>>();
  readonly #again = new Set<number>();
  readonly #heap = new TimerHeap();
  #timerLoadedTo = -1;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #stopped = false;
  readonly lateness = new Lateness();
  delivered = 0;

  constructor(parts: {
    store: MessageStore;
    state: ConsumerState;
    levels: DelayLevels;
    log: Logger;
    forwarder?: ForwarderRef;
  }) {
    this.#store = parts.store;
    this.#state = parts.state;
    this.#levels = parts.levels;
    this.#log = parts.log.child({ component: 'scheduler' });
    this.#forwarder = parts.forwarder ?? (() => undefined);
  }

  /** Looks at every level and loads pending timers. */
  start(): void {
    for (let level = 1; level <= this.#levels.count; level++) this.#kick(level);
    this.#kick(0);
  }

  /** Called as messages arrive in the scheduler's topics (the store's dispatch). */
  notify(topic: string, queueId: number): void {
    if (topic === SCHEDULE_TOPIC) this.#kick(queueId + 1);
    else if (topic === TIMER_TOPIC) this.#kick(0);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#levelTimers.values()) clearTimeout(t);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await Promise.all([...this.#running.values()]);
  }

  /** Messages waiting per level (index level − 1) and timers waiting. */
  pending(): { levels: number[]; timers: number } {
    const levels: number[] = [];
    for (let level = 1; level <= this.#levels.count; level++) {
      const c = this.#state.get(this.#levelKey(level));
      const max = this.#store.maxOffset(SCHEDULE_TOPIC, level - 1);
      levels.push(Math.max(0, max - (c?.ackOffset ?? this.#store.minOffset(SCHEDULE_TOPIC, level - 1))));
    }
    return { levels, timers: this.#heap.size };
  }

  /** Runs the service of a level (0: the timers), once at a time; a kick while it runs runs it again. */
  #kick(level: number): void {
    if (this.#stopped) return;
    if (this.#running.has(level)) {
      this.#again.add(level);
      return;
    }
    const run = (level === 0 ? this.#runTimers() : this.#runLevel(level))
      .catch((err: unknown) => {
        this.#log.error({ err, level }, 'scheduled delivery failed; trying again in 1 s');
        this.#wakeAt(level, Date.now() + 1000);
      })
      .finally(() => {
        this.#running.delete(level);
        if (this.#again.delete(level)) this.#kick(level);
      });
    this.#running.set(level, run);
  }

  #wakeAt(level: number, at: number): void {
    if (this.#stopped) return;
    if (level === 0) {
      if (at >= this.#timerAt) return;
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#timerAt = at;
      this.#timer = setTimeout(
        () => {
          this.#timer = undefined;
          this.#timerAt = Infinity;
          this.#kick(0);
        },
        Math.max(0, at - Date.now()),
      );
      this.#timer.unref();
      return;
    }
    const old = this.#levelTimers.get(level);
    if (old !== undefined) clearTimeout(old);
    const t = setTimeout(
      () => {
        this.#levelTimers.delete(level);
        this.#kick(level);
      },
      Math.max(0, at - Date.now()),
    );
    t.unref();
    this.#levelTimers.set(level, t);
  }

  #levelKey(level: number): CursorKey {
    return { group: LEVEL_GROUP, client: '', topic: SCHEDULE_TOPIC, queueId: level - 1, retryOf: '' };
  }

  #cursor(key: CursorKey): QueueCursor {
    return this.#state.get(key) ?? this.#state.init(key, this.#store.minOffset(key.topic, key.queueId));
  }

  // ------------------------------------------------------------------ levels

  async #runLevel(level: number): Promise<void> {
    const c = this.#cursor(this.#levelKey(level));
    const delay = this.#levels.delayOf(level);
    for (;;) {
      const from = c.ackOffset;
      const r = await this.#store.getMessages(SCHEDULE_TOPIC, level - 1, from, PAGE);
      if (r.status === 'OFFSET_TOO_SMALL') {
        this.#state.init(c.key, r.minOffset);
        continue;
      }
      if (r.messages.length === 0) {
        if (r.nextBeginOffset > from) this.#state.skip(c, from, r.nextBeginOffset);
        if (r.nextBeginOffset > from) continue;
        return; // idle until a message arrives
      }
      const now = Date.now();
      const due: StoredMessage[] = [];
      let waitUntil = Infinity;
      for (const m of r.messages) {
        const at = m.storeTimestamp + delay;
        if (at > now) {
          waitUntil = at;
          break;
        }
        due.push(m);
      }
      if ((await this.#deliver(c, due, (m) => m.storeTimestamp + delay)).length > 0) {
        // a backend refused or is down: the level waits (in order) and tries again
        this.#wakeAt(level, Date.now() + RETRY_FORWARD_MS);
        return;
      }
      const last = due[due.length - 1];
      if (waitUntil !== Infinity) {
        if (last !== undefined) this.#state.skip(c, from, last.queueOffset + 1);
        this.#wakeAt(level, waitUntil);
        return;
      }
      this.#state.skip(c, from, r.nextBeginOffset);
    }
  }

  // ------------------------------------------------------------------ timers

  async #runTimers(): Promise<void> {
    const c = this.#cursor({ group: TIMER_GROUP, client: '', topic: TIMER_TOPIC, queueId: 0, retryOf: '' });
    if (this.#timerLoadedTo < 0) this.#timerLoadedTo = c.ackOffset;
    // index what arrived since the last look
    for (;;) {
      const r = await this.#store.getMessages(TIMER_TOPIC, 0, this.#timerLoadedTo, PAGE);
      if (r.status === 'OFFSET_TOO_SMALL') {
        this.#timerLoadedTo = r.minOffset;
        continue;
      }
      for (const m of r.messages)
        if (!c.done.has(m.queueOffset) && m.queueOffset >= c.ackOffset)
          this.#heap.push(timerDue(m), m.queueOffset);
      if (r.nextBeginOffset <= this.#timerLoadedTo) break;
      this.#timerLoadedTo = r.nextBeginOffset;
    }
    // fire what is due, in batches
    for (;;) {
      const now = Date.now();
      const offsets: number[] = [];
      while (this.#heap.nextDue <= now && offsets.length < PAGE) offsets.push(this.#heap.pop());
      if (offsets.length === 0) break;
      const due: StoredMessage[] = [];
      for (const off of offsets) {
        const r = await this.#store.getMessages(TIMER_TOPIC, 0, off, 1);
        const m = r.messages[0];
        if (m !== undefined && m.queueOffset === off) due.push(m);
        else this.#state.finish(c, off); // removed by retention or unreadable: nothing to deliver
      }
      const later = Date.now() + RETRY_FORWARD_MS;
      for (const m of await this.#deliver(c, due, timerDue)) this.#heap.push(later, m.queueOffset);
    }
    if (this.#heap.size > 0) this.#wakeAt(0, this.#heap.nextDue);
  }

  // ------------------------------------------------------------------ delivery

  /**
   * Writes due messages to their real topics (or forwards them to the backend their topic lives
   * on), then marks them done. Answers the messages a backend did not confirm: still pending.
   */
  async #deliver(
    c: QueueCursor,
    due: StoredMessage[],
    dueAt: (m: StoredMessage) => number,
  ): Promise<StoredMessage[]> {
    if (due.length === 0) return [];
    const out: MessageInput[] = [];
    const kept: StoredMessage[] = [];
    const forwarder = this.#forwarder();
    const remote: Promise<StoredMessage | undefined>[] = [];
    for (const m of due) {
      if (c.done.has(m.queueOffset)) continue; // delivered by an earlier try of this batch
      if (m.storeTimestamp < this.#startedAt && (await this.#deliveredBefore(m))) {
        this.#state.finish(c, m.queueOffset);
        continue;
      }
      const msg = dueMessage(m);
      if (forwarder?.owns(msg.topic) === true) remote.push(this.#forward(forwarder, c, m, msg, dueAt));
      else {
        out.push(msg);
        kept.push(m);
      }
    }
    const pending = remote.length === 0 ? [] : await Promise.all(remote);
    if (out.length > 0) this.#written(c, kept, await this.#store.putMessages(out), dueAt);
    return pending.filter((m) => m !== undefined);
  }

  /** Forwards one due message; answers it when its backend did not confirm it. */
  async #forward(
    f: NonNullable<ReturnType<ForwarderRef>>,
    c: QueueCursor,
    m: StoredMessage,
    msg: MessageInput,
    dueAt: (m: StoredMessage) => number,
  ): Promise<StoredMessage | undefined> {
    try {
      await f.forward(msg);
    } catch (err) {
      if (isMqgateError(err) && !err.retriable) {
        // as a refusal of a local topic: it cannot become acceptable later
        this.#log.error({ err, msgId: m.msgId, topic: msg.topic }, 'scheduled message refused');
        this.#state.finish(c, m.queueOffset);
        return undefined;
      }
      this.#log.warn({ err, msgId: m.msgId, topic: msg.topic }, 'scheduled message not forwarded yet');
      return m;
    }
    this.#state.finish(c, m.queueOffset);
    this.lateness.record(Math.max(0, Date.now() - dueAt(m)));
    this.delivered++;
    return undefined;
  }

  #written(
    c: QueueCursor,
    kept: StoredMessage[],
    results: readonly { status: string; reason?: string | undefined }[],
    dueAt: (m: StoredMessage) => number,
  ): void {
    const now = Date.now();
    results.forEach((r, i) => {
      const m = kept[i] as StoredMessage;
      if (r.status === 'PUT_OK' || r.status === 'FLUSH_DISK_TIMEOUT') {
        this.#state.finish(c, m.queueOffset);
        this.lateness.record(Math.max(0, now - dueAt(m)));
        this.delivered++;
      } else {
        // a message its real topic refuses (it cannot become acceptable later): logged, dropped
        this.#log.error({ msgId: m.msgId, status: r.status, reason: r.reason }, 'scheduled message refused');
        this.#state.finish(c, m.queueOffset);
      }
    });
  }

  /** After a crash: was this record delivered by the process before (written, not marked)? */
  async #deliveredBefore(m: StoredMessage): Promise<boolean> {
    const topic = m.properties[ScheduleProp.REAL_TOPIC];
    if (topic === undefined) return false;
    const copy = await this.#store.getByMsgId(m.msgId, { topic });
    return copy?.properties[ScheduleProp.SCHEDULED_FROM] === String(m.commitLogOffset);
  }
}

function timerDue(m: StoredMessage): number {
  const t = Number(m.properties[ScheduleProp.TIMER_DELIVER_MS]);
  return Number.isFinite(t) ? t : m.storeTimestamp;
}
