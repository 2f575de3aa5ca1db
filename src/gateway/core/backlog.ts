/**
 * One backend's store-and-forward backlog: the messages accepted for its topics while it was
 * down (or while older ones of the same queue still waited), in the backend's backlog topic of
 * the gateway's log (see backlog-record.ts), and the position up to which the forwarder has had
 * them confirmed by the broker. The position is kept in `{dataDir}/core/saf-{backend}.json`,
 * written after the broker confirmed (at the end of each forwarding run, and every
 * SAVE_EVERY_MS within one), so a kill -9 forwards again at most what was confirmed since it
 * was last written: at least once, never lost.
 *
 * Per-queue order: once a queue (topic, queue index) has a record at or past the position, every
 * later send to it must go through the backlog too, until the forwarder has passed its last
 * record ({@link Backlog.holds}); else a new message would overtake older ones.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { OutboundMessage } from '../../../adapters/index.js';
import type { Broker } from '../../broker/index.js';
import { readJsonFile } from '../../broker/json-file.js';
import type { StoredMessage } from '../../message/message.js';
import { writeFileAtomic } from '../../store/fs-util.js';
import type { PutMessageResult } from '../../store/index.js';
import { backlogRecord, backlogTarget, backlogTopic } from './backlog-record.js';

/** A backlog as `GET /v1/backends` shows it. */
export interface BacklogStats {
  /** Messages accepted and not forwarded yet. */
  readonly messages: number;
  /** When the oldest of them was stored (ms since the epoch); absent when there is none. */
  readonly oldestTimestamp?: number;
  /** Messages forwarded to the backend since the gateway started. */
  readonly forwarded: number;
}

const SCAN_BATCH = 256;
/** Within a forwarding run, the position is written at most this often (each write is 2 fsyncs). */
const SAVE_EVERY_MS = 100;

export class Backlog {
  readonly backend: string;
  /** The backlog topic in the gateway's log. */
  readonly topic: string;
  readonly #broker: Broker;
  readonly #file: string;
  readonly #log: Logger;
  /** The next backlog offset to forward: everything before it was confirmed by the broker. */
  #position = 0;
  /** The backlog offset after the last record written. */
  #end = 0;
  /** Per queue (`topic \u0001 queueId`), the backlog offset of its last record. */
  readonly #last = new Map<string, number>();
  /** Per queue, appends under way (their offsets are not known yet). */
  readonly #appending = new Map<string, number>();
  #appendingTotal = 0;
  #oldest: number | undefined;
  #forwarded = 0;
  /** The position last written to the file, and when. */
  #saved = 0;
  #savedAt = 0;

  constructor(broker: Broker, backend: string, dataDir: string, log: Logger) {
    this.#broker = broker;
    this.backend = backend;
    this.topic = backlogTopic(backend);
    this.#file = path.join(dataDir, 'core', `saf-${backend}.json`);
    this.#log = log;
  }

  /** Reads the saved position and what waits past it (the queues it holds, the oldest time). */
  async open(): Promise<void> {
    fs.mkdirSync(path.dirname(this.#file), { recursive: true });
    const saved = readJsonFile(this.#file) as { offset?: number } | undefined;
    const store = this.#broker.store;
    const min = store.minOffset(this.topic, 0);
    const max = store.maxOffset(this.topic, 0);
    this.#position = Math.min(Math.max(saved?.offset ?? 0, min), max);
    this.#saved = saved?.offset ?? 0;
    if ((saved?.offset ?? 0) < min)
      this.#log.error(
        { backend: this.backend, lost: min - (saved?.offset ?? 0) },
        'retention removed backlog records that were never forwarded',
      );
    this.#end = max;
    for (let offset = this.#position; offset < max;) {
      const r = await store.getMessages(this.topic, 0, offset, SCAN_BATCH);
      for (const m of r.messages) this.#remember(m);
      if (r.nextBeginOffset <= offset) break;
      offset = r.nextBeginOffset;
    }
  }

  #remember(m: StoredMessage): void {
    const to = backlogTarget(m);
    if (to !== undefined) this.#last.set(queueKey(to.topic, to.queueId), m.queueOffset);
    this.#oldest ??= m.storeTimestamp;
  }

  /** True while a queue has messages in the backlog: a send to it must wait behind them. */
  holds(topic: string, queueId: number): boolean {
    if (this.#appendingTotal === 0 && this.#last.size === 0) return false;
    const k = queueKey(topic, queueId);
    if ((this.#appending.get(k) ?? 0) > 0) return true;
    const last = this.#last.get(k);
    if (last === undefined) return false;
    if (last >= this.#position) return true;
    this.#last.delete(k);
    return false;
  }

  get messages(): number {
    return Math.max(0, this.#end - this.#position) + this.#appendingTotal;
  }

  stats(): BacklogStats {
    const messages = this.messages;
    const oldest = messages > 0 ? this.#oldest : undefined;
    return {
      messages,
      ...(oldest === undefined ? {} : { oldestTimestamp: oldest }),
      forwarded: this.#forwarded,
    };
  }

  /**
   * Writes messages for `topic` to the backlog; each gets the store's result (written, under the
   * store's flush policy, or why not). The queues are held from the call on, before the write.
   */
  async append(topic: string, out: readonly OutboundMessage[]): Promise<PutMessageResult[]> {
    this.#broker.topics.system(this.topic);
    const keys = out.map((o) => queueKey(topic, o.queueId));
    for (const k of keys) this.#appending.set(k, (this.#appending.get(k) ?? 0) + 1);
    this.#appendingTotal += keys.length;
    let results: PutMessageResult[] = [];
    try {
      results = await this.#broker.store.putMessages(out.map((o) => backlogRecord(this.topic, topic, o)));
    } finally {
      keys.forEach((k, i) => {
        const n = (this.#appending.get(k) ?? 1) - 1;
        if (n > 0) this.#appending.set(k, n);
        else this.#appending.delete(k);
        const offset = results[i]?.queueOffset;
        if (offset === undefined) return;
        this.#last.set(k, Math.max(offset, this.#last.get(k) ?? -1));
        this.#end = Math.max(this.#end, offset + 1);
        this.#oldest ??= results[i]?.storeTimestamp ?? Date.now();
      });
      this.#appendingTotal -= keys.length;
    }
    return results;
  }

  /** The next records to forward, oldest first (none: nothing readable yet). */
  async read(max: number): Promise<StoredMessage[]> {
    const store = this.#broker.store;
    const r = await store.getMessages(this.topic, 0, this.#position, max);
    if (r.status === 'OFFSET_TOO_SMALL') {
      this.#log.error(
        { backend: this.backend, lost: r.minOffset - this.#position },
        'retention removed backlog records that were never forwarded',
      );
      await this.#moveTo(r.minOffset);
      return this.read(max);
    }
    if (r.messages.length === 0 && r.nextBeginOffset > this.#position) {
      // entries whose records failed their checks: nothing can be forwarded from them
      this.#log.error({ backend: this.backend, corrupted: r.corrupted }, 'backlog records skipped');
      await this.#moveTo(r.nextBeginOffset);
      return this.read(max);
    }
    const first = r.messages[0];
    if (first !== undefined) this.#oldest = first.storeTimestamp;
    return r.messages;
  }

  /** The broker confirmed `records` (or refused them for good): the position moves past them. */
  async done(records: readonly StoredMessage[], forwarded: boolean): Promise<void> {
    const last = records[records.length - 1];
    if (last === undefined) return;
    if (forwarded) this.#forwarded += records.length;
    await this.#moveTo(last.queueOffset + 1);
  }

  async #moveTo(offset: number): Promise<void> {
    if (offset <= this.#position) return;
    this.#position = offset;
    if (this.messages === 0) {
      this.#last.clear();
      this.#oldest = undefined;
    }
    if (Date.now() - this.#savedAt >= SAVE_EVERY_MS) await this.save();
  }

  /** Writes the position to the file (everything before it was confirmed by the broker). */
  async save(): Promise<void> {
    if (this.#saved === this.#position) return;
    const offset = this.#position;
    this.#savedAt = Date.now();
    await writeFileAtomic(this.#file, JSON.stringify({ offset }));
    this.#saved = offset;
  }
}

function queueKey(topic: string, queueId: number): string {
  return `${topic}\u0001${queueId}`;
}
