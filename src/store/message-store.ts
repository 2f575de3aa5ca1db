import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { MqgateError } from '../errors.js';
import type { DispatchInfo } from '../message/codec.js';
import { isPlanProblem, planRecord } from '../message/codec.js';
import { tagsCode } from '../message/hash.js';
import type { MessageInput, StoredMessage } from '../message/message.js';
import { isMsgId } from '../message/msg-id.js';
import { CommitLog } from './commit-log.js';
import type { WriteOutcome } from './commit-log.js';
import { ConsumeQueueTable } from './consume-queue-table.js';
import { writeFileAtomic, writeFileAtomicSync } from './fs-util.js';
import { KeyIndex } from './key-index.js';
import type { ResolvedStoreOptions, StoreOptions } from './options.js';
import { RECORD_OVERHEAD, resolveStoreOptions } from './options.js';
import { RecordReader } from './record-reader.js';
import type { MessageFilter } from './record-reader.js';
import type { RecoveryReport } from './recovery.js';
import { scanCommitLog } from './recovery.js';
import type { RetentionReport } from './retention.js';
import { cleanExpiredSegments } from './retention.js';
import { LoopService } from './service.js';
import type { GetMessageResult, PutMessageResult } from './status.js';
import { PutMessageStatus } from './status.js';
import { StoreLock } from './store-lock.js';

/** Where an appended message goes (see MessageStore.append). */
export type Appended = Pick<
  DispatchInfo,
  'msgId' | 'topic' | 'queueId' | 'queueOffset' | 'commitLogOffset' | 'size' | 'storeTimestamp'
>;

/** A refusal from `append` (it has a status), not a place. */
export function isRefused(r: Appended | PutMessageResult): r is PutMessageResult {
  return (r as PutMessageResult).status !== undefined;
}

/** Queues of a write round told apart by comparison before a Set is used (see #announce). */
const ANNOUNCE_SCAN = 16;

const CLOSED: PutMessageResult = {
  status: PutMessageStatus.SERVICE_NOT_AVAILABLE,
  reason: 'the store is closed',
};

/** What an append whose write failed answers. */
export const WRITE_FAILED: PutMessageResult = {
  status: PutMessageStatus.OS_WRITE_FAILED,
  reason: 'the disk refused the write; see the server log',
};

function toResult(info: Appended, outcome: WriteOutcome): PutMessageResult {
  if (outcome === 'OS_WRITE_FAILED') return WRITE_FAILED;
  return {
    status: outcome === 'OK' ? PutMessageStatus.PUT_OK : PutMessageStatus.FLUSH_DISK_TIMEOUT,
    msgId: info.msgId,
    queueId: info.queueId,
    queueOffset: info.queueOffset,
    commitLogOffset: info.commitLogOffset,
    storeTimestamp: info.storeTimestamp,
    storeSize: info.size,
  };
}

/** The sizes a store was created with (`layout.json`). */
interface StoreLayout {
  readonly version: 1;
  readonly segmentSize: number;
  readonly consumeQueueFileEntries: number;
}

interface Checkpoint {
  readonly version: 1;
  /** Every record below this offset has its ConsumeQueue entry on disk. */
  readonly consumeQueueEnd: number;
  readonly savedAt: number;
}

/**
 * The embedded log (RocketMQ's DefaultMessageStore): one CommitLog for all topics, a
 * ConsumeQueue per topic-queue and a KeyIndex, both built by dispatching each written record.
 *
 * `open()` recovers: it cuts a torn tail, replays the records after the last checkpoint into
 * ConsumeQueue and KeyIndex and reports what it found. Background services flush (ASYNC_FLUSH),
 * checkpoint and delete expired segments.
 */
export class MessageStore {
  readonly options: ResolvedStoreOptions;
  readonly recovery: RecoveryReport;
  readonly #log: Logger;
  readonly #commitLog: CommitLog;
  readonly #cqs: ConsumeQueueTable;
  readonly #index: KeyIndex;
  readonly #reader: RecordReader;
  readonly #lock: StoreLock;
  readonly #services: LoopService[];
  /** Next queue offset of each topic-queue (topic -> by queue id), handed out at append time. */
  readonly #nextOffsets = new Map<string, number[]>();
  /** Told of each topic-queue that got messages, once per dispatched round (long polling). */
  readonly #arrivals = new Set<(topic: string, queueId: number) => void>();
  #checkpointing: Promise<void> = Promise.resolve();
  /** End of what ConsumeQueue and KeyIndex hold. */
  #dispatchedEnd = 0;
  #closed = false;

  private constructor(
    options: ResolvedStoreOptions,
    parts: { commitLog: CommitLog; cqs: ConsumeQueueTable; index: KeyIndex; lock: StoreLock },
    recovery: RecoveryReport,
  ) {
    this.options = options;
    this.#log = options.logger.child({ component: 'store' });
    this.#commitLog = parts.commitLog;
    this.#cqs = parts.cqs;
    this.#index = parts.index;
    this.#lock = parts.lock;
    this.recovery = recovery;
    this.#dispatchedEnd = recovery.end;
    this.#reader = new RecordReader(this.#commitLog, this.#cqs, options.maxMessageSize + RECORD_OVERHEAD);
    this.#commitLog.setHooks({
      dispatch: (infos) => this.#dispatch(infos),
      rewind: () => this.#resetNextOffsets(),
    });
    this.#resetNextOffsets();
    const log = options.logger;
    this.#services = [
      new LoopService('flush-commitlog', options.flushIntervalMs, log, () => this.#commitLog.flush()),
      new LoopService('checkpoint', options.checkpointIntervalMs, log, () => this.#checkpoint()),
      new LoopService('clean-commitlog', options.cleanIntervalMs, log, async () => {
        if (options.deleteWhen.includes(new Date().getHours())) await this.cleanExpiredFiles();
      }),
    ];
    for (const s of this.#services) s.start();
  }

  /** Opens (and recovers) the store in `options.dataDir`. */
  static async open(opts: StoreOptions): Promise<MessageStore> {
    const configured = resolveStoreOptions(opts);
    const log = configured.logger.child({ component: 'store' });
    fs.mkdirSync(configured.dataDir, { recursive: true });
    const lock = StoreLock.acquire(configured.dataDir);
    try {
      const options = MessageStore.#applyLayout(configured, log);
      const commitLog = new CommitLog(options, options.logger);
      const cqs = new ConsumeQueueTable(options.dataDir, options.consumeQueueFileEntries);
      const index = new KeyIndex(options.dataDir, options.indexSlots, options.indexEntries, options.logger);
      commitLog.openSegments();
      cqs.load();
      await index.load();
      const recovery = await MessageStore.#recover(options, commitLog, cqs, index);
      log.info({ recovery }, 'store opened');
      if (recovery.truncated !== undefined || recovery.corrupt.length > 0)
        log.warn({ truncated: recovery.truncated, corrupt: recovery.corrupt }, 'recovery found damaged data');
      return new MessageStore(options, { commitLog, cqs, index, lock }, recovery);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  static async #recover(
    options: ResolvedStoreOptions,
    commitLog: CommitLog,
    cqs: ConsumeQueueTable,
    index: KeyIndex,
  ): Promise<RecoveryReport> {
    const started = performance.now();
    const min = commitLog.minOffset;
    const last = commitLog.segments.at(-1);
    const dataEnd = last === undefined ? min : last.start + last.length;
    // a checkpoint past the data (the OS lost unflushed bytes) falls back to a segment start
    const fallback = last === undefined ? min : last.start;
    const clamp = (v: number | undefined): number =>
      v === undefined || v < min ? min : v > dataEnd ? fallback : v;
    const cp = MessageStore.#readCheckpoint(options.dataDir);
    const cqFrom = clamp(cp?.consumeQueueEnd);
    const indexFrom = clamp(index.indexedEnd);
    const from = Math.min(cqFrom, indexFrom);
    let replaced = cqs.truncateFrom(cqFrom);
    const placeholdersBefore = cqs.placeholders;
    const scan = await scanCommitLog(
      commitLog,
      from,
      options.maxMessageSize + RECORD_OVERHEAD,
      (info) => {
        if (info.commitLogOffset >= cqFrom) cqs.stage(info, tagsCode(info.tag));
        if (info.commitLogOffset >= indexFrom) index.put(info);
      },
      () => cqs.writeStaged(),
    );
    await index.truncateFrom(scan.end);
    index.endRound(scan.end);
    if (scan.end < cqFrom) replaced += cqs.truncateFrom(scan.end);
    let truncated: RecoveryReport['truncated'];
    const cut = await commitLog.truncateTo(scan.end);
    if (scan.stop !== undefined || cut.cutBytes > 0 || cut.removedSegments.length > 0) {
      truncated = {
        at: scan.end,
        reason: scan.stop?.reason ?? 'bytes past the end of valid data',
        cutBytes: cut.cutBytes,
        removedSegments: cut.removedSegments,
      };
    }
    // a queue's files start at or below its min offset: move it past records retention removed
    await cqs.dropBelow(commitLog.minOffset);
    await cqs.flush();
    await index.flush();
    await MessageStore.#writeCheckpoint(options.dataDir, scan.end);
    return {
      durationMs: Math.round(performance.now() - started),
      scannedFrom: from,
      scannedBytes: scan.bytes,
      records: scan.records,
      end: scan.end,
      ...(truncated === undefined ? {} : { truncated }),
      corrupt: scan.corrupt,
      consumeQueueEntriesReplaced: replaced,
      placeholders: cqs.placeholders - placeholdersBefore,
    };
  }

  /**
   * File sizes are fixed when a store is created (offsets are computed from them): a store
   * opened later with other sizes keeps its own, and says so.
   */
  static #applyLayout(options: ResolvedStoreOptions, log: Logger): ResolvedStoreOptions {
    const file = path.join(options.dataDir, 'layout.json');
    const wanted: StoreLayout = {
      version: 1,
      segmentSize: options.segmentSize,
      consumeQueueFileEntries: options.consumeQueueFileEntries,
    };
    if (!fs.existsSync(file)) {
      writeFileAtomicSync(file, JSON.stringify(wanted));
      return options;
    }
    const layout = JSON.parse(fs.readFileSync(file, 'utf8')) as StoreLayout;
    if (
      layout.segmentSize === wanted.segmentSize &&
      layout.consumeQueueFileEntries === wanted.consumeQueueFileEntries
    )
      return options;
    log.warn(
      { configured: wanted, kept: layout },
      "store file sizes differ from the configuration; keeping the store's own",
    );
    const kept = {
      ...options,
      segmentSize: layout.segmentSize,
      consumeQueueFileEntries: layout.consumeQueueFileEntries,
    };
    return resolveStoreOptions(kept);
  }

  static #readCheckpoint(dir: string): Checkpoint | undefined {
    const p = path.join(dir, 'checkpoint');
    if (!fs.existsSync(p)) return undefined;
    try {
      const cp = JSON.parse(fs.readFileSync(p, 'utf8')) as Partial<Checkpoint>;
      return typeof cp.consumeQueueEnd === 'number' ? (cp as Checkpoint) : undefined;
    } catch {
      return undefined; // unreadable: replay everything
    }
  }

  static #writeCheckpoint(dir: string, consumeQueueEnd: number): Promise<void> {
    const cp: Checkpoint = { version: 1, consumeQueueEnd, savedAt: Date.now() };
    return writeFileAtomic(path.join(dir, 'checkpoint'), JSON.stringify(cp));
  }

  /**
   * Writes a checkpoint after the one under way (the service's and flush()'s never overlap:
   * they share the temporary file, and a later checkpoint must not be overtaken by an earlier).
   */
  #checkpoint(): Promise<void> {
    const run = this.#checkpointing.then(() => this.#writeCheckpointNow());
    this.#checkpointing = run.catch(() => undefined);
    return run;
  }

  async #writeCheckpointNow(): Promise<void> {
    // only claim what the CommitLog itself has on disk
    const end = Math.min(this.#dispatchedEnd, this.#commitLog.flushedEnd);
    await this.#cqs.flush();
    await this.#index.flush();
    await MessageStore.#writeCheckpoint(this.options.dataDir, end);
  }

  #dispatch(infos: readonly DispatchInfo[]): void {
    for (const info of infos) {
      const gap = this.#cqs.stage(info, tagsCode(info.tag));
      if (gap > 0)
        this.#log.error({ topic: info.topic, queueId: info.queueId, gap }, 'queue offsets skipped');
      this.#index.put(info);
    }
    this.#cqs.writeStaged();
    this.#index.endRound(this.#commitLog.writeEnd);
    this.#dispatchedEnd = this.#commitLog.writeEnd;
    if (this.#arrivals.size > 0) this.#announce(infos);
  }

  #announce(infos: readonly DispatchInfo[]): void {
    // a round mostly touches few queues: the first ones are compared, not keyed by a string
    // made for every record; past ANNOUNCE_SCAN queues, by a key
    const topics: string[] = [];
    const queues: number[] = [];
    let more: Set<string> | undefined;
    for (const info of infos) {
      let seen = false;
      for (let i = 0; i < topics.length && !seen; i++)
        seen = queues[i] === info.queueId && topics[i] === info.topic;
      if (seen) continue;
      if (topics.length < ANNOUNCE_SCAN) {
        topics.push(info.topic);
        queues.push(info.queueId);
      } else {
        const k = `${info.queueId}@${info.topic}`;
        more ??= new Set();
        if (more.has(k)) continue;
        more.add(k);
      }
      for (const listener of this.#arrivals) {
        try {
          listener(info.topic, info.queueId);
        } catch (err) {
          this.#log.error({ err }, 'arrival listener failed');
        }
      }
    }
  }

  /**
   * Calls `listener` when messages of a topic-queue become readable (once per write round and
   * queue). What long polling waits on; returns the function that removes the listener.
   */
  onArrival(listener: (topic: string, queueId: number) => void): () => void {
    this.#arrivals.add(listener);
    return () => this.#arrivals.delete(listener);
  }

  #resetNextOffsets(): void {
    this.#nextOffsets.clear();
    for (const cq of this.#cqs.all()) this.#queueOffsets(cq.topic)[cq.queueId] = cq.maxOffset;
  }

  #queueOffsets(topic: string): number[] {
    let byId = this.#nextOffsets.get(topic);
    if (byId === undefined) this.#nextOffsets.set(topic, (byId = []));
    return byId;
  }

  // ------------------------------------------------------------------ write

  /** Appends one message (the common case, without the batch's arrays). */
  putMessage(msg: MessageInput): Promise<PutMessageResult> {
    const r = this.append(msg);
    if (isRefused(r)) return Promise.resolve(r);
    return this.written().then((outcome) => toResult(r, outcome));
  }

  /**
   * Appends one message in two steps, for a caller that acts on its place before it is written
   * (and saves the result object and a promise step putMessage makes): the record is encoded
   * now, and this says where it goes (or why not, with a status). `written()`, called at once,
   * settles when it is written.
   */
  append(msg: MessageInput): Appended | PutMessageResult {
    if (this.#closed) return CLOSED;
    return this.#encode(msg, Date.now());
  }

  /**
   * Settles once everything appended so far is written (and flushed under SYNC_FLUSH):
   * `'OK'`, `'FLUSH_DISK_TIMEOUT'` or `'OS_WRITE_FAILED'` (see `append`). Never rejects.
   */
  written(): Promise<WriteOutcome> {
    return this.#commitLog.commit();
  }

  /**
   * Appends messages; each gets its own result. The records are written together and, under
   * SYNC_FLUSH, acknowledged after one shared fsync.
   */
  async putMessages(msgs: readonly MessageInput[]): Promise<PutMessageResult[]> {
    if (this.#closed) return msgs.map(() => CLOSED);
    const now = Date.now();
    const results: (PutMessageResult | DispatchInfo)[] = [];
    let written = 0;
    for (const msg of msgs) {
      const r = this.#encode(msg, now);
      if (!('status' in r)) written++;
      results.push(r);
    }
    if (written === 0) return results as PutMessageResult[];
    const outcome = await this.#commitLog.commit();
    return results.map((r) => ('status' in r ? r : toResult(r, outcome)));
  }

  /** Checks a message and encodes it at the end of the log, or says why not. */
  #encode(msg: MessageInput, now: number): DispatchInfo | PutMessageResult {
    // a second queue entry (multi-dispatch): its offset is written in the record
    const also = msg.dispatchAlso === undefined ? undefined : this.#queueOffsets(msg.dispatchAlso);
    const alsoOffset = also === undefined ? 0 : (also[0] ?? 0);
    const plan = planRecord(msg, this.options.maxMessageSize, alsoOffset);
    if (isPlanProblem(plan)) return { status: plan.problem, reason: plan.reason };
    const offsets = this.#queueOffsets(msg.topic);
    const queueOffset = offsets[msg.queueId] ?? 0;
    const info = this.#commitLog.encode(msg, plan, queueOffset, now, alsoOffset);
    offsets[msg.queueId] = queueOffset + 1;
    if (also !== undefined) also[0] = alsoOffset + 1;
    return info;
  }

  // ------------------------------------------------------------------ read

  /**
   * Gets the read path ready (its thread starts on the first read otherwise): consumers call
   * this at start so that the first delivery does not wait for it.
   */
  prepareReads(): void {
    this.#reader.warm();
  }

  /** Reads up to `maxMessages` from a queue starting at `offset` (RocketMQ's getMessage). */
  getMessages(
    topic: string,
    queueId: number,
    offset: number,
    maxMessages: number,
    opts?: { filter?: MessageFilter; maxBytes?: number },
  ): Promise<GetMessageResult> {
    return this.#reader.getMessages(topic, queueId, offset, maxMessages, opts);
  }

  /**
   * The message with this id, found through the KeyIndex (never by a scan): the newest copy, or
   * with `topic` the newest copy stored in that topic (a retry or dead-letter copy keeps its id).
   */
  async getByMsgId(msgId: string, opts: { topic?: string } = {}): Promise<StoredMessage | undefined> {
    if (!isMsgId(msgId)) throw new MqgateError('MQ_ERR_MSGID_INVALID', `"${msgId}" is not 32 hex characters`);
    const id = msgId.toUpperCase();
    for (const hit of await this.#index.lookup(KeyIndex.msgIdHash(id), 0, Number.MAX_SAFE_INTEGER, 32)) {
      const m = await this.#reader.readAt(hit.commitLogOffset, hit.size);
      if (m !== undefined && m.msgId === id && (opts.topic === undefined || m.topic === opts.topic)) return m;
    }
    return undefined;
  }

  /**
   * The record of `size` bytes at `commitLogOffset` as it is encoded, when it was written lately
   * and is still in memory: a view, valid only until the caller yields (use it at once, e.g. to
   * append its body again with `recordBodyView`). Undefined otherwise: read the record with
   * getByCommitLogOffset.
   */
  recentRecord(commitLogOffset: number, size: number): Uint8Array | undefined {
    return this.#commitLog.recentRecord(commitLogOffset, size);
  }

  /** The record at a CommitLog offset (the internal offset id), if it is intact. */
  getByCommitLogOffset(offset: number): Promise<StoredMessage | undefined> {
    return this.#reader.readAt(offset);
  }

  /** Messages of `topic` carrying `key`, stored within [begin, end]; oldest first, at most `max`. */
  async queryByKey(
    topic: string,
    key: string,
    opts: { begin?: number; end?: number; max?: number } = {},
  ): Promise<StoredMessage[]> {
    const begin = opts.begin ?? 0;
    const end = opts.end ?? Number.MAX_SAFE_INTEGER;
    const max = opts.max ?? 64;
    const out: StoredMessage[] = [];
    const seen = new Set<number>();
    for (const hit of await this.#index.lookup(KeyIndex.topicKeyHash(topic, key), begin, end, max * 2)) {
      if (seen.has(hit.commitLogOffset)) continue;
      seen.add(hit.commitLogOffset);
      const m = await this.#reader.readAt(hit.commitLogOffset, hit.size);
      if (m === undefined || m.topic !== topic || !m.keys.includes(key)) continue;
      if (m.storeTimestamp < begin || m.storeTimestamp > end) continue;
      out.push(m);
      if (out.length >= max) break;
    }
    return out.sort((a, b) => a.commitLogOffset - b.commitLogOffset);
  }

  minOffset(topic: string, queueId: number): number {
    return this.#cqs.get(topic, queueId)?.minOffset ?? 0;
  }

  maxOffset(topic: string, queueId: number): number {
    return this.#cqs.get(topic, queueId)?.maxOffset ?? 0;
  }

  /** Every topic-queue the store holds, with its offsets. */
  queues(): { topic: string; queueId: number; minOffset: number; maxOffset: number }[] {
    return this.#cqs.all().map((q) => ({
      topic: q.topic,
      queueId: q.queueId,
      minOffset: q.minOffset,
      maxOffset: q.maxOffset,
    }));
  }

  /** The first queue offset whose message was stored at or after `timestamp` (binary search). */
  offsetByTime(topic: string, queueId: number, timestamp: number): Promise<number> {
    return this.#reader.offsetByTime(topic, queueId, timestamp);
  }

  // ------------------------------------------------------------------ maintenance

  /** Deletes segments older than fileReservedTimeMs (never the one being written). */
  async cleanExpiredFiles(now: number = Date.now()): Promise<RetentionReport> {
    return cleanExpiredSegments(
      this.#commitLog,
      this.#cqs,
      this.#index,
      this.options.fileReservedTimeMs,
      now,
    );
  }

  /** Writes and fsyncs everything, then writes a checkpoint. */
  async flush(): Promise<void> {
    await this.#commitLog.drain();
    await this.#commitLog.flush();
    await this.#checkpoint();
  }

  stats(): { writeEnd: number; flushedEnd: number; minOffset: number; fsyncs: number; placeholders: number } {
    return {
      writeEnd: this.#commitLog.writeEnd,
      flushedEnd: this.#commitLog.flushedEnd,
      minOffset: this.#commitLog.minOffset,
      fsyncs: this.#commitLog.fsyncCount,
      placeholders: this.#cqs.placeholders,
    };
  }

  /** Finishes pending appends, flushes, writes a checkpoint and releases the directory. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#services.map((s) => s.stop()));
    await this.flush();
    await this.#commitLog.close();
    await this.#reader.close();
    this.#cqs.close();
    await this.#index.close();
    this.#lock.release();
  }
}
