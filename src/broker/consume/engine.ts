import type { Logger } from 'pino';
import { MqgateError } from '../../errors.js';
import type { StoredMessage } from '../../message/message.js';
import type { MessageFilter, MessageStore } from '../../store/index.js';
import type { DelayLevels } from '../delay-levels.js';
import type { GroupConfig, GroupRegistry } from '../group-registry.js';
import { ConsumeMode } from '../group-registry.js';
import { Prop, retryTopic } from '../system-topics.js';
import type { TopicRegistry } from '../topic-registry.js';
import type { ConsumerState } from './consumer-state.js';
import type { GroupStats } from './group-stats.js';
import { StatsTable } from './group-stats.js';
import type { LongPoll } from './long-poll.js';
import type { CursorKey, Inflight, QueueCursor } from './queue-cursor.js';
import type { HandleData, ReceiptHandles } from './receipt-handle.js';
import { exhausted, retryLevel } from './retry.js';
import { RetryWriter } from './retry-writer.js';
import type { DueItem } from './revive-queue.js';
import { DueQueue, due } from './revive-queue.js';
import { randomVersion } from './receipt-handle.js';

/** The hand-outs of one take from one cursor. */
interface Batch {
  visibleAt: number;
  version: number;
  readonly item: DueItem;
}
import { StartPosition } from './start-position.js';
import type { ReceivedMessage, TakeOptions } from './take-types.js';
import { Received } from './take-types.js';

export type { ReceivedMessage, TakeOptions } from './take-types.js';

/** How a nack ends (for the caller's counters and tests). */
export type NackOutcome = 'RETRY' | 'DLQ' | 'SUSPENDED' | 'DROPPED';

/**
 * The consumption engine shared by POP receives and push subscriptions: takes messages from
 * queue cursors and hands them out invisible for a while; ack, nack and change of invisible
 * time by receipt handle; the revive service that, when a message's invisible time passes,
 * moves it to the group's retry topic (or the DLQ when retries are used up) — for orderly and
 * broadcasting groups it is handed out again in place instead.
 */
export class ConsumeEngine {
  readonly #store: MessageStore;
  readonly #state: ConsumerState;
  readonly #groups: GroupRegistry;
  readonly #handles: ReceiptHandles;
  readonly #levels: DelayLevels;
  readonly #poll: LongPoll;
  readonly #log: Logger;
  readonly #start: StartPosition;
  readonly stats = new StatsTable();
  readonly #writer: RetryWriter;
  readonly #due: DueQueue<DueItem>;
  /** Serialises the asynchronous steps on one cursor. */
  readonly #busy = new Map<QueueCursor, Promise<unknown>>();
  /** Cursors by key object, for callers that keep their keys (a cursor, once made, stays). */
  readonly #byKey = new WeakMap<CursorKey, QueueCursor>();
  readonly #moving = new Set<string>();
  readonly #retryFilters = new Map<string, MessageFilter>();
  /** Called when a message becomes visible again in place or a queue is unlocked. */
  onVisible: (topic: string) => void = () => {};
  #rr = 0;

  constructor(parts: {
    store: MessageStore;
    state: ConsumerState;
    topics: TopicRegistry;
    groups: GroupRegistry;
    handles: ReceiptHandles;
    levels: DelayLevels;
    poll: LongPoll;
    log: Logger;
  }) {
    this.#store = parts.store;
    this.#state = parts.state;
    this.#groups = parts.groups;
    this.#handles = parts.handles;
    this.#levels = parts.levels;
    this.#writer = new RetryWriter(parts.store, parts.topics, parts.levels);
    this.#poll = parts.poll;
    this.#log = parts.log;
    this.#start = new StartPosition(parts.store);
    this.#due = new DueQueue((items) => this.#onDue(items));
    this.#state.onSettle = (s) => {
      const t = s.due as DueItem | undefined;
      s.due = undefined;
      if (t !== undefined && --t.live === 0 && t.entry !== undefined) this.#due.remove(t.entry);
    };
    for (const c of this.#state.all())
      for (const [offset, s] of [...c.inflight]) {
        // A push consumer does not outlive the process: what it held is handed out again.
        if (s.owner !== undefined) this.#state.release(c, offset);
        else this.#schedule(s, due(c, offset, s.version));
      }
  }

  close(): void {
    this.#due.stop();
  }

  /** The cursor of a queue, created at the group's start position on first use. */
  async cursor(key: CursorKey, group: GroupConfig): Promise<QueueCursor> {
    const c = this.#state.get(key);
    if (c !== undefined) return c;
    const offset = await this.#start.offsetFor(key, group);
    return this.#state.get(key) ?? this.#state.init(key, offset);
  }

  /**
   * Runs `fn` after the steps already queued on the cursor; at once when none is (a throw
   * becomes a rejection, as in a chain). Two promises a step, where a chain from a resolved
   * promise made four.
   */
  serial<T>(c: QueueCursor, fn: () => Promise<T>): Promise<T> {
    const prev = this.#busy.get(c);
    let run: Promise<T>;
    if (prev !== undefined) run = prev.then(fn, fn);
    else
      try {
        run = fn();
      } catch (e) {
        run = Promise.reject(e as Error);
      }
    const done = (): void => {
      if (this.#busy.get(c) === tail) this.#busy.delete(c);
    };
    const tail: Promise<void> = run.then(done, done);
    this.#busy.set(c, tail);
    return run;
  }

  keysFor(o: Pick<TakeOptions, 'group' | 'client' | 'topic' | 'queueIds' | 'retry'>): CursorKey[] {
    const g = o.group.name;
    const keys: CursorKey[] = o.queueIds.map((queueId) => ({
      group: g,
      client: o.client,
      topic: o.topic,
      queueId,
      retryOf: '',
    }));
    if (o.retry)
      keys.push({ group: g, client: o.client, topic: retryTopic(g), queueId: 0, retryOf: o.topic });
    return keys;
  }

  /** Takes up to `max` messages from the queues, rotating which queue goes first. */
  async take(o: TakeOptions): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    const keys = o.keys ?? this.keysFor(o);
    if (keys.length === 0) return out;
    const first = this.#rr % keys.length;
    const inPlace = o.group.orderly || o.group.consumeMode === ConsumeMode.BROADCASTING;
    for (let i = 0; i < keys.length && out.length < o.max; i++) {
      const at = (first + i) % keys.length;
      const key = keys[at] as CursorKey;
      // the next take starts after the last queue this one looks at: empty queues skipped here
      // do not hand their turn to the queue after them, and the queues keep the same pace
      // (they lie interleaved in the log, so an even pace reads each stretch of it once)
      this.#rr = at + 1;
      let known = this.#byKey.get(key);
      if (known === undefined && (known = this.#state.get(key)) !== undefined) this.#byKey.set(key, known);
      // most wake-ups find most queues with nothing new: skip those without any async step
      if (known !== undefined && this.#nothingIn(known, inPlace)) continue;
      const c = known ?? (await this.cursor(key, o.group));
      await this.serial(c, () => this.#takeFrom(c, o, out));
    }
    if (out.length > 0) this.stats.of(o.group.name).delivered += out.length;
    return out;
  }

  /** True when a cursor has nothing to hand out now: nothing released, expired or unread. */
  #nothingIn(c: QueueCursor, inPlace: boolean): boolean {
    if (c.released.length > 0 || c.popOffset < this.#store.maxOffset(c.key.topic, c.key.queueId))
      return false;
    if (!inPlace || c.inflight.size === 0) return true;
    const now = Date.now();
    for (const s of c.inflight.values()) if (s.visibleAt <= now) return false;
    return true;
  }

  async #takeFrom(c: QueueCursor, o: TakeOptions, out: ReceivedMessage[]): Promise<void> {
    const batch: Batch = {
      visibleAt: 0,
      version: randomVersion(),
      item: { cursor: c, offsets: [], versions: [], live: 0 },
    };
    try {
      await this.#takeInto(c, o, out, batch);
    } finally {
      const item = batch.item;
      if (item.live > 0) item.entry = this.#due.push(batch.visibleAt, item);
    }
  }

  async #takeInto(c: QueueCursor, o: TakeOptions, out: ReceivedMessage[], batch: Batch): Promise<void> {
    const now = Date.now();
    const inPlace = o.group.orderly || o.group.consumeMode === ConsumeMode.BROADCASTING;
    let room = o.max - out.length;
    if (inPlace)
      for (const [offset, s] of [...c.inflight]) {
        if (room <= 0 || s.visibleAt > now) continue;
        const m = await this.#read(c, offset);
        if (m === undefined) this.#state.finish(c, offset);
        else if (!this.#deliver(c, o, m, s.redeliveries + 1, out, batch)) continue;
        room--;
      }
    if (o.group.orderly) {
      if (c.inflight.size > 0) return; // the queue's next message waits for this one's ack
      room = Math.min(room, 1);
    }
    while (room > 0 && c.released.length > 0) {
      const offset = c.released[0] as number;
      const m = await this.#read(c, offset);
      if (m === undefined) this.#state.skip(c, offset, offset + 1);
      else if (this.#deliver(c, o, m, 0, out, batch)) room--;
    }
    if (room <= 0) return;
    const from = c.popOffset;
    const filter = c.key.retryOf === '' ? o.filter : this.#retryFilter(c.key.retryOf);
    const r = await this.#store.getMessages(c.key.topic, c.key.queueId, from, room, { filter });
    switch (r.status) {
      case 'FOUND':
      case 'NO_MATCHED_MESSAGE':
      case 'OFFSET_FOUND_NULL':
        for (const m of r.messages) this.#deliver(c, o, m, 0, out, batch);
        this.#state.skip(c, from, r.nextBeginOffset);
        for (const bad of r.corrupted)
          this.#log.error({ topic: c.key.topic, queueId: c.key.queueId, bad }, 'skipped a corrupt record');
        break;
      case 'OFFSET_TOO_SMALL': // retention removed what the group had not read
        this.#log.warn({ key: c.key, from, min: r.minOffset }, 'messages expired before they were consumed');
        this.#state.init(c.key, r.minOffset);
        break;
      case 'OFFSET_OVERFLOW_BADLY':
        this.#state.init(c.key, r.maxOffset);
        break;
      default:
        break;
    }
  }

  /** Hands out one message; false when the cursor moved on meanwhile (e.g. a reset). */
  #deliver(
    c: QueueCursor,
    o: TakeOptions,
    m: StoredMessage,
    redeliveries: number,
    out: ReceivedMessage[],
    batch: Batch,
  ): boolean {
    const offset = m.queueOffset;
    if (offset < c.ackOffset || c.done.has(offset)) return false;
    // one batch shares its invisible time and takes consecutive versions (one journal line)
    if (batch.visibleAt === 0) batch.visibleAt = Date.now() + o.invisibleMs;
    const visibleAt = batch.visibleAt;
    const version = batch.version++;
    this.#state.take(c, offset, { visibleAt, version, redeliveries, owner: o.owner, due: batch.item });
    batch.item.offsets.push(offset);
    batch.item.versions.push(version);
    batch.item.live++;
    const msg = new Received(m, c.userTopic, redeliveries, this.#handles, c.no, version, visibleAt);
    o.refs?.push(c.no, offset, version);
    out.push(msg);
    return true;
  }

  async #read(c: QueueCursor, offset: number): Promise<StoredMessage | undefined> {
    const r = await this.#store.getMessages(c.key.topic, c.key.queueId, offset, 1);
    const m = r.messages[0];
    return m !== undefined && m.queueOffset === offset ? m : undefined;
  }

  /** A group's retry topic holds every topic's retries: a cursor takes only its own topic's. */
  #retryFilter(topic: string): MessageFilter {
    let f = this.#retryFilters.get(topic);
    if (f === undefined) {
      f = { matchMessage: (m) => (m.properties[Prop.RETRY_TOPIC] ?? m.topic) === topic };
      this.#retryFilters.set(topic, f);
    }
    return f;
  }

  // ------------------------------------------------------------------ ack, nack, change

  /**
   * The in-flight delivery a handle names.
   *
   * @throws MqgateError `MQ_ERR_RECEIPT_INVALID` (not ours, other group/topic) or
   * `MQ_ERR_RECEIPT_EXPIRED` (acked, replaced by a newer handle, or past its invisible time)
   */
  resolve(
    group: string,
    topic: string,
    handle: unknown,
    ref?: HandleData,
  ): { cursor: QueueCursor; offset: number; s: Inflight } {
    const d = ref ?? this.#handles.decode(handle);
    const cursor = this.#state.byNo(d.cursor);
    if (cursor !== undefined && (cursor.key.group !== group || cursor.userTopic !== topic))
      throw new MqgateError(
        'MQ_ERR_RECEIPT_INVALID',
        `the receipt handle was handed out to group "${cursor.key.group}" for topic "${cursor.userTopic}", not to "${group}" for "${topic}"`,
      );
    const s = cursor?.inflight.get(d.offset);
    if (cursor === undefined || s === undefined || s.version !== d.version)
      throw new MqgateError(
        'MQ_ERR_RECEIPT_EXPIRED',
        'the message was acked, redelivered or given a newer handle since this one',
      );
    if (s.visibleAt <= Date.now())
      throw new MqgateError(
        'MQ_ERR_RECEIPT_EXPIRED',
        'the invisible time of this delivery has passed; the message goes out again',
      );
    return { cursor, offset: d.offset, s };
  }

  /** Acks a delivery: the message is done for the group. */
  ack(group: string, topic: string, handle: unknown, ref?: HandleData): { owner: string | undefined } {
    const { cursor, offset, s } = this.resolve(group, topic, handle, ref);
    this.#state.finish(cursor, offset);
    this.stats.of(group).acked++;
    // only an orderly queue waits for an ack before its next message goes out
    if (this.#groups.get(group)?.orderly === true) this.#unlocked(cursor);
    return { owner: s.owner };
  }

  /**
   * Gives a delivery a new invisible time from now; returns the new handle (the old one stops
   * working).
   */
  changeInvisible(
    group: string,
    topic: string,
    handle: unknown,
    invisibleMs: number,
  ): { handle: string; invisibleUntil: number } {
    const { cursor, offset } = this.resolve(group, topic, handle);
    const version = this.#state.nextVersion();
    const visibleAt = Date.now() + invisibleMs;
    this.#state.change(cursor, offset, visibleAt, version);
    this.#schedule(cursor.inflight.get(offset), due(cursor, offset, version));
    return {
      handle: this.#handles.encode({ cursor: cursor.no, offset, version }),
      invisibleUntil: visibleAt,
    };
  }

  /**
   * Nacks a delivery. Clustering: it comes back through `%RETRY%{group}` after the retry
   * back-off (`delayLevel`, else the group's policy), or goes to the DLQ once retries are used
   * up (`deadLetter` sends it there at once). Orderly: the queue is suspended and the same
   * message comes back after `suspendMs`. Broadcasting: dropped, and counted (RocketMQ's way).
   */
  async nack(
    group: string,
    topic: string,
    handle: unknown,
    opts: { delayLevel?: number | undefined; deadLetter?: boolean | undefined } = {},
    ref?: HandleData,
  ): Promise<{ outcome: NackOutcome; owner: string | undefined }> {
    const { cursor, offset, s } = this.resolve(group, topic, handle, ref);
    if (opts.delayLevel !== undefined) this.#levels.check(opts.delayLevel);
    const config = this.#groups.get(group) ?? this.#groups.upsert(group);
    const stats = this.stats.of(group);
    stats.nacked++;
    const owner = s.owner;
    if (config.consumeMode === ConsumeMode.BROADCASTING) {
      this.#state.finish(cursor, offset);
      stats.dropped++;
      return { outcome: 'DROPPED', owner };
    }
    const m = await this.#read(cursor, offset);
    if (m === undefined) {
      this.#state.finish(cursor, offset);
      return { outcome: 'DROPPED', owner };
    }
    const times = m.reconsumeTimes + (config.orderly ? s.redeliveries : 0);
    if (opts.deadLetter === true || exhausted(config, times)) {
      await this.#deadLetter(cursor, offset, m, stats);
      return { outcome: 'DLQ', owner };
    }
    if (!config.orderly) {
      // RocketMQ's send-back: the retry copy waits at its delay level in the scheduler, which
      // writes it to %RETRY%{group} when due; the original is done for the group now
      const level = opts.delayLevel ?? retryLevel(config, m.reconsumeTimes, this.#levels);
      await this.#writer.retryAfter(group, m, level);
      this.#state.finish(cursor, offset);
      stats.retried++;
      this.#unlocked(cursor);
      return { outcome: 'RETRY', owner };
    }
    const wait = opts.delayLevel === undefined ? config.suspendMs : this.#levels.delayOf(opts.delayLevel);
    const version = this.#state.nextVersion();
    const visibleAt = Date.now() + wait;
    this.#state.change(cursor, offset, visibleAt, version);
    this.#schedule(cursor.inflight.get(offset), due(cursor, offset, version));
    return { outcome: 'SUSPENDED', owner };
  }

  /**
   * A failed message of a topic on another backend (the core's POP over its stream): the retry
   * copy waits here at its delay level and comes back through `%RETRY%{group}`, or it goes to
   * the DLQ once retries are used up, as `nack` does for a message of the log.
   */
  async sendBack(
    config: GroupConfig,
    m: StoredMessage,
    opts: { delayLevel?: number | undefined; deadLetter?: boolean | undefined } = {},
  ): Promise<NackOutcome> {
    if (opts.delayLevel !== undefined) this.#levels.check(opts.delayLevel);
    const stats = this.stats.of(config.name);
    stats.nacked++;
    if (opts.deadLetter === true || exhausted(config, m.reconsumeTimes)) {
      await this.#writer.deadLetter(config.name, m);
      stats.deadLettered++;
      return 'DLQ';
    }
    await this.#writer.retryAfter(
      config.name,
      m,
      opts.delayLevel ?? retryLevel(config, m.reconsumeTimes, this.#levels),
    );
    stats.retried++;
    return 'RETRY';
  }

  /** Gives one delivery back at once: the next take hands it out again (to anyone). */
  releaseOne(group: string, topic: string, handle: unknown): void {
    const { cursor, offset } = this.resolve(group, topic, handle);
    this.#state.release(cursor, offset);
    this.#unlocked(cursor);
  }

  /** Puts back what a push consumer held (it left, or lost the queue in a rebalance). */
  release(owner: string, where: (c: QueueCursor) => boolean = () => true): number {
    let n = 0;
    for (const c of this.#state.all()) {
      if (!where(c)) continue;
      for (const [offset, s] of [...c.inflight])
        if (s.owner === owner) {
          this.#state.release(c, offset);
          n++;
        }
      if (n > 0) this.#unlocked(c);
    }
    return n;
  }

  #unlocked(c: QueueCursor): void {
    this.#poll.notify(c.key.topic);
    this.onVisible(c.key.topic);
  }

  // ------------------------------------------------------------------ revive

  /** Puts a revive entry for one in-flight hand-out (at its visibleAt). */
  #schedule(s: Inflight | undefined, item: DueItem): void {
    if (s === undefined) return;
    s.due = item;
    item.entry = this.#due.push(s.visibleAt, item);
  }

  #onDue(items: DueItem[]): void {
    const now = Date.now();
    for (const item of items)
      for (let i = 0; i < item.offsets.length; i++)
        this.#revive(item.cursor, item.offsets[i] as number, item.versions[i] as number, now);
  }

  #revive(cursor: QueueCursor, offset: number, version: number, now: number): void {
    const s = cursor.inflight.get(offset);
    if (s === undefined || s.version !== version || s.visibleAt > now) return;
    const config = this.#groups.get(cursor.key.group);
    if (config === undefined || config.orderly || config.consumeMode === ConsumeMode.BROADCASTING) {
      this.#unlocked(cursor); // handed out again in place
      return;
    }
    const id = `${cursor.id}#${offset}`;
    if (this.#moving.has(id)) return;
    this.#moving.add(id);
    void this.serial(cursor, () => this.#move(cursor, offset, version, config))
      .catch((err: unknown) => {
        this.#log.error(
          { err, key: cursor.key, offset },
          'moving a message to retry failed; trying again in 1 s',
        );
        const s = cursor.inflight.get(offset);
        if (s !== undefined) s.visibleAt = Date.now() + 1000;
        this.#schedule(s, due(cursor, offset, version));
      })
      .finally(() => this.#moving.delete(id));
  }

  /** A concurrent group's message whose invisible time passed: to the retry topic, or the DLQ. */
  async #move(c: QueueCursor, offset: number, version: number, config: GroupConfig): Promise<void> {
    if (c.inflight.get(offset)?.version !== version) return;
    const m = await this.#read(c, offset);
    if (m === undefined) {
      this.#state.finish(c, offset);
      return;
    }
    const stats = this.stats.of(config.name);
    if (exhausted(config, m.reconsumeTimes)) {
      await this.#deadLetter(c, offset, m, stats);
      return;
    }
    await this.#writer.retryNow(config.name, m);
    if (c.inflight.get(offset)?.version === version) this.#state.finish(c, offset);
    stats.retried++;
    this.#unlocked(c);
  }

  async #deadLetter(c: QueueCursor, offset: number, m: StoredMessage, stats: GroupStats): Promise<void> {
    await this.#writer.deadLetter(c.key.group, m);
    this.#state.finish(c, offset);
    stats.deadLettered++;
    this.#unlocked(c);
  }
}
