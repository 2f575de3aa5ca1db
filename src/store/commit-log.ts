import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DispatchInfo, RecordPlan } from '../message/codec.js';
import { BLANK_SIZE, OFF_MSG_ID, recordSysFlag, writeBlank, writeRecord } from '../message/codec.js';
import { bytesHash } from '../message/hash.js';
import { MSG_ID_BYTES } from '../message/msg-id.js';
import type { MessageInput } from '../message/message.js';
import { closeFd, fdatasync, ftruncate, isErrno, listNumbered, padName, readFull } from './fs-util.js';
import type { ResolvedStoreOptions } from './options.js';
import { sharedBuffer, WriterThread } from './writer-thread.js';

/**
 * The CommitLog: every message of every topic, appended to segment files of `segmentSize`
 * bytes named by their first physical offset. A record never spans two segments: when the next
 * record does not fit, a BLANK marker closes the segment and the record starts the next one.
 *
 * One writer. `encode()` puts records straight into a pending chunk (shared memory); `commit()`
 * waits for them. A single write loop hands every pending chunk at once to the writer thread
 * (which fills in CRCs and writes), dispatches the written records (ConsumeQueue, KeyIndex) and,
 * under SYNC_FLUSH, answers after one fdatasync for all of them (group commit).
 */

export interface Segment {
  readonly start: number;
  readonly path: string;
  fd: number;
  /**
   * Where data may end: the file size when opened (recovery finds the real end), then the end
   * of what was written. Segment files are created at full size (sparse): fdatasync is cheaper
   * when a write does not grow the file, and the end of data is where zeros begin.
   */
  length: number;
}

/** How a round of appends ended, for every append in it. */
export type WriteOutcome = 'OK' | 'FLUSH_DISK_TIMEOUT' | 'OS_WRITE_FAILED';

interface Chunk {
  start: number;
  buf: Buffer;
  used: number;
  readonly dv: DataView;
  /** Ends with the BLANK marker of its segment: the log continues at the next segment. */
  closesSegment: boolean;
  /** The records in this chunk, for the dispatcher once written. */
  infos: DispatchInfo[];
}

interface Waiter {
  /** The append's records all lie below this offset. */
  readonly end: number;
  resolve(outcome: WriteOutcome): void;
}

/** Rounds handed to the writer thread at once, so it always has the next one queued while the main thread is busy encoding. */
const MAX_IN_FLIGHT = 4;
const MAX_POOL = 8;
/** Written chunks kept readable from memory: the tail consumers read while keeping up. */
const RECENT_CHUNKS = 4;
/** Scratch placement handed to writeRecord (saves an object per record). */
const placement = { queueOffset: 0, commitLogOffset: 0, storeTimestamp: 0 };

export interface CommitLogHooks {
  /** Called after records are written, before their appends answer. Must not throw. */
  dispatch(infos: readonly DispatchInfo[]): void;
  /** Called after a failed write: queue offsets handed out for lost records must be taken back. */
  rewind(): void;
}

export class CommitLog {
  readonly dir: string;
  readonly #opts: ResolvedStoreOptions;
  readonly #log: Logger;
  #hooks: CommitLogHooks | undefined;
  #segments: Segment[] = [];
  /** Bytes below this are written to the OS. */
  #writeEnd = 0;
  /** Bytes below this are fsynced. */
  #flushedEnd = 0;
  /** Where the next record goes (>= writeEnd: pending records lie in between). */
  #encodeEnd = 0;
  #current: Chunk | undefined;
  #sealed: Chunk[] = [];
  #waiters: Waiter[] = [];
  #scheduled = false;
  #inFlight = 0;
  /** Settles when every round started so far has. */
  #rounds: Promise<void> = Promise.resolve();
  #failure: unknown;
  #recovering = false;
  #pool: Buffer[] = [];
  /** The last chunks written, oldest first (see recent()). */
  #recent: Chunk[] = [];
  #flushing: Promise<void> | undefined;
  /** Segments written since their last fsync. */
  #dirty = new Set<Segment>();
  #fsyncCount = 0;
  readonly #writer = new WriterThread();

  constructor(opts: ResolvedStoreOptions, log: Logger) {
    this.#opts = opts;
    this.dir = path.join(opts.dataDir, 'commitlog');
    this.#log = log.child({ component: 'commitlog' });
  }

  setHooks(hooks: CommitLogHooks): void {
    this.#hooks = hooks;
  }

  get segmentSize(): number {
    return this.#opts.segmentSize;
  }
  get segments(): readonly Segment[] {
    return this.#segments;
  }
  get minOffset(): number {
    return this.#segments[0]?.start ?? 0;
  }
  get writeEnd(): number {
    return this.#writeEnd;
  }
  get flushedEnd(): number {
    return this.#flushedEnd;
  }
  get fsyncCount(): number {
    return this.#fsyncCount + this.#writer.fsyncs;
  }

  /** Opens the existing segments (recovery decides later where valid data ends). */
  openSegments(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    for (const { name, start } of listNumbered(this.dir)) {
      if (start % this.#opts.segmentSize !== 0) {
        throw new Error(`commitlog segment ${name} does not start at a multiple of segmentSize`);
      }
      const p = path.join(this.dir, name);
      const fd = fs.openSync(p, 'r+');
      this.#segments.push({ start, path: p, fd, length: fs.fstatSync(fd).size });
    }
    for (let i = 1; i < this.#segments.length; i++) {
      const prev = this.#segments[i - 1] as Segment;
      if ((this.#segments[i] as Segment).start !== prev.start + this.#opts.segmentSize)
        throw new Error(`commitlog segments are not contiguous after ${path.basename(prev.path)}`);
    }
  }

  /** Sets the end of valid data found by recovery: cuts the tail and removes later segments. */
  async truncateTo(end: number): Promise<{ cutBytes: number; removedSegments: string[] }> {
    let cutBytes = 0;
    const removedSegments: string[] = [];
    for (let last = this.#segments.at(-1); last !== undefined; last = this.#segments.at(-1)) {
      const keepFirst = this.#segments.length === 1 && last.start === end;
      if (last.start < end || keepFirst) break;
      cutBytes += await dataAfter(last, 0);
      removedSegments.push(path.basename(last.path));
      await closeFd(last.fd);
      fs.rmSync(last.path);
      this.#segments.pop();
    }
    const seg = this.#segmentAt(end);
    if (seg !== undefined && seg.length > end - seg.start) {
      const cut = await dataAfter(seg, end - seg.start);
      if (cut > 0) await this.#zeroFrom(seg, end - seg.start);
      cutBytes += cut;
      seg.length = end - seg.start;
    }
    this.#writeEnd = this.#flushedEnd = this.#encodeEnd = end;
    return { cutBytes, removedSegments };
  }

  /** Cuts a segment's file at `at` and extends it again: zeros (sparse) up to the segment size. */
  async #zeroFrom(seg: Segment, at: number): Promise<void> {
    await ftruncate(seg.fd, at);
    await ftruncate(seg.fd, this.#opts.segmentSize);
    await fdatasync(seg.fd);
  }

  #segmentAt(offset: number): Segment | undefined {
    const first = this.#segments[0];
    if (first === undefined || offset < first.start) return undefined;
    return this.#segments[Math.floor((offset - first.start) / this.#opts.segmentSize)];
  }

  #segmentFor(offset: number): Segment {
    const existing = this.#segmentAt(offset);
    if (existing !== undefined) return existing;
    const start = offset - (offset % this.#opts.segmentSize);
    const last = this.#segments[this.#segments.length - 1];
    if (last !== undefined && start !== last.start + this.#opts.segmentSize)
      throw new Error(`internal: segment ${start} would not follow ${last.start}`);
    const p = path.join(this.dir, padName(start));
    const fd = fs.openSync(p, 'w+');
    fs.ftruncateSync(fd, this.#opts.segmentSize);
    const seg: Segment = { start, path: p, fd, length: 0 };
    this.#segments.push(seg);
    return seg;
  }

  // ---------------------------------------------------------------- append

  /**
   * Encodes a record at the end of the log. Synchronous: the record's position, queue offset and
   * msgId are fixed here; `commit()` then waits for it to be written (and flushed).
   */
  encode(
    msg: MessageInput,
    plan: RecordPlan,
    queueOffset: number,
    storeTimestamp: number,
    alsoQueueOffset = 0,
  ): DispatchInfo {
    let pos = this.#encodeEnd;
    const segSize = this.#opts.segmentSize;
    const segEnd = pos - (pos % segSize) + segSize;
    if (pos + plan.size + BLANK_SIZE > segEnd) {
      const chunk = this.#chunkAt(pos, BLANK_SIZE);
      writeBlank(chunk.buf, chunk.used, segEnd - pos);
      chunk.used += BLANK_SIZE;
      chunk.closesSegment = true;
      this.#seal();
      pos = segEnd;
    }
    const chunk = this.#chunkAt(pos, plan.size);
    const at = chunk.used;
    placement.queueOffset = queueOffset;
    placement.commitLogOffset = pos;
    placement.storeTimestamp = storeTimestamp;
    const msgId = writeRecord(chunk.buf, at, msg, plan, placement, false, chunk.dv);
    chunk.used += plan.size;
    this.#encodeEnd = pos + plan.size;
    const info: DispatchInfo = {
      commitLogOffset: pos,
      size: plan.size,
      topic: msg.topic,
      queueId: msg.queueId,
      queueOffset,
      tag: msg.tag === '' ? undefined : msg.tag,
      keys: msg.keys ?? [],
      msgId,
      msgIdHash: bytesHash(chunk.buf, at + OFF_MSG_ID, MSG_ID_BYTES),
      storeTimestamp,
      sysFlag: recordSysFlag(msg, plan),
      alsoTopic: msg.dispatchAlso,
      alsoQueueOffset,
    };
    chunk.infos.push(info);
    return info;
  }

  /** Waits until everything encoded so far is written (and fsynced under SYNC_FLUSH). */
  commit(): Promise<WriteOutcome> {
    return new Promise((resolve) => {
      this.#waiters.push({ end: this.#encodeEnd, resolve });
      if (!this.#scheduled) {
        this.#scheduled = true;
        // let the appends of this tick join the round
        setImmediate(() => {
          this.#scheduled = false;
          this.#pump();
        });
      }
    });
  }

  #chunkAt(pos: number, need: number): Chunk {
    const c = this.#current;
    if (c !== undefined && c.start + c.used === pos && c.used + need <= c.buf.length) return c;
    this.#seal();
    const size = Math.max(this.#opts.writeChunkSize, need);
    const pooled = size === this.#opts.writeChunkSize ? this.#pool.pop() : undefined;
    const buf = pooled ?? sharedBuffer(size);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const chunk: Chunk = { start: pos, buf, dv, used: 0, closesSegment: false, infos: [] };
    this.#current = chunk;
    return chunk;
  }

  /**
   * Keeps a written chunk readable from memory for a while (see {@link recent}); the oldest
   * goes back to the pool.
   */
  #remember(chunk: Chunk): void {
    this.#recent.push(chunk);
    if (this.#recent.length <= RECENT_CHUNKS) return;
    const old = this.#recent.shift() as Chunk;
    if (old.buf.length === this.#opts.writeChunkSize && this.#pool.length < MAX_POOL)
      this.#pool.push(old.buf);
    else this.#writer.forget(old.buf);
  }

  /**
   * A copy of the log from `offset` (a record boundary) to the end of the written chunk that
   * holds [offset, offset + len), when that chunk is still in memory: consumers that keep up
   * read what was just written without a read from disk. A copy, because the chunk's memory
   * is used again for later appends.
   */
  recent(offset: number, len: number): Buffer | undefined {
    const c = this.#recentChunk(offset, len);
    return c === undefined ? undefined : Buffer.from(c.buf.subarray(offset - c.start, c.used));
  }

  /**
   * A view (no copy) of the record of `len` bytes at `offset`, when its written chunk is still in
   * memory. Valid only until the caller yields: the chunk's memory is used again for later
   * appends.
   */
  recentRecord(offset: number, len: number): Uint8Array | undefined {
    const c = this.#recentChunk(offset, len);
    // a plain Uint8Array: Buffer's subarray goes through the species constructor
    return c === undefined
      ? undefined
      : new Uint8Array(c.buf.buffer, c.buf.byteOffset + offset - c.start, len);
  }

  /** The written chunk still in memory that holds [offset, offset + len), newest first. */
  #recentChunk(offset: number, len: number): Chunk | undefined {
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const c = this.#recent[i] as Chunk;
      if (offset >= c.start && offset + len <= c.start + c.used) return c;
    }
    return undefined;
  }

  #seal(): void {
    if (this.#current !== undefined && this.#current.used > 0) this.#sealed.push(this.#current);
    this.#current = undefined;
  }

  /**
   * Starts rounds while fewer than MAX_IN_FLIGHT are being written: each takes the oldest
   * pending chunks, up to writeChunkSize bytes, so the first appends are answered while later
   * ones are still being written.
   */
  #pump(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#failure === undefined) {
      if (this.#sealed.length === 0) this.#seal();
      if (this.#sealed.length === 0) break;
      const chunks: Chunk[] = [];
      let bytes = 0;
      while (this.#sealed.length > 0 && (chunks.length === 0 || bytes < this.#opts.writeChunkSize)) {
        const c = this.#sealed.shift() as Chunk;
        chunks.push(c);
        bytes += c.used;
      }
      this.#inFlight++;
      const round = this.#round(chunks);
      this.#rounds = this.#rounds.then(() => round);
      void round.finally(() => {
        this.#inFlight--;
        this.#pump();
      });
    }
    if (this.#inFlight === 0 && this.#failure !== undefined) void this.#recoverFromFailure();
  }

  async #round(chunks: Chunk[]): Promise<void> {
    const touched = new Set<Segment>();
    const sync = this.#opts.flushDiskType === 'SYNC_FLUSH';
    let synced: Promise<void> | undefined;
    try {
      const parts = chunks.map((chunk) => {
        const seg = this.#segmentFor(chunk.start);
        touched.add(seg);
        return { fd: seg.fd, buf: chunk.buf, length: chunk.used, position: chunk.start - seg.start };
      });
      const op = this.#writer.write(parts, sync);
      synced = op.synced;
      await op.written;
    } catch (err) {
      this.#log.error(
        { err, writeEnd: this.#writeEnd },
        'commitlog write failed; pending appends are refused',
      );
      this.#failure ??= err;
      return;
    }
    if (this.#failure !== undefined) return; // an earlier round failed: this one is cut back too
    for (const chunk of chunks) {
      const seg = this.#segmentAt(chunk.start) as Segment;
      seg.length = Math.max(seg.length, chunk.start - seg.start + chunk.used);
      // a record boundary: after a BLANK the log goes on at the next segment, never inside the padding
      this.#writeEnd = chunk.closesSegment ? this.nextSegmentStart(chunk.start) : chunk.start + chunk.used;
      this.#hooks?.dispatch(chunk.infos);
      chunk.infos = [];
      this.#remember(chunk);
    }
    const end = this.#writeEnd;
    if (synced === undefined) {
      for (const seg of touched) this.#dirty.add(seg);
      this.#answer(end, 'OK');
      return;
    }
    void this.#awaitSync(synced, end).then((outcome) => this.#answer(end, outcome));
  }

  /** Answers, in order, the appends whose records all lie below `end`. */
  #answer(end: number, outcome: WriteOutcome): void {
    let n = 0;
    while (n < this.#waiters.length && (this.#waiters[n] as Waiter).end <= end) n++;
    for (const w of this.#waiters.splice(0, n)) w.resolve(outcome);
  }

  /** SYNC_FLUSH: OK once the round's fsync ends, FLUSH_DISK_TIMEOUT if that takes too long. */
  async #awaitSync(synced: Promise<void>, end: number): Promise<WriteOutcome> {
    const flush = synced.then(() => {
      if (end > this.#flushedEnd) this.#flushedEnd = end;
      return 'OK' as const;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<WriteOutcome>((resolve) => {
      timer = setTimeout(() => resolve('FLUSH_DISK_TIMEOUT'), this.#opts.syncFlushTimeoutMs);
    });
    try {
      return await Promise.race([flush, timeout]);
    } catch (err) {
      this.#log.error({ err }, 'fsync failed');
      return 'FLUSH_DISK_TIMEOUT';
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A write failed (disk full, I/O error) and every round in flight has settled: everything not
   * yet written is lost to its callers, who get OS_WRITE_FAILED. The files are cut back to the
   * last complete write so the log stays valid, and the owner takes back the queue offsets it
   * handed out. Appends work again afterwards.
   */
  async #recoverFromFailure(): Promise<void> {
    if (this.#recovering) return;
    this.#recovering = true;
    const failed = this.#waiters;
    this.#waiters = [];
    this.#current = undefined;
    this.#sealed = [];
    this.#encodeEnd = this.#writeEnd;
    for (const seg of this.#segments) {
      const keep = Math.max(0, Math.min(seg.length, this.#writeEnd - seg.start));
      if (keep < seg.length || seg.start >= this.#writeEnd) {
        try {
          await this.#zeroFrom(seg, keep);
          seg.length = keep;
        } catch (e) {
          this.#log.error({ err: e, segment: seg.path }, 'could not cut back a failed write');
        }
      }
    }
    this.#recent = [];
    this.#hooks?.rewind();
    this.#failure = undefined;
    this.#recovering = false;
    for (const w of failed) w.resolve('OS_WRITE_FAILED');
    this.#pump();
  }

  /** ASYNC_FLUSH: fsync what was written since the last flush. */
  async flush(): Promise<void> {
    if (this.#flushing !== undefined) return this.#flushing;
    this.#flushing = (async () => {
      const end = this.#writeEnd;
      const segs = [...this.#dirty];
      this.#dirty.clear();
      if (segs.length > 0) {
        this.#fsyncCount += segs.length;
        // on libuv's pool, not the writer thread: appends go on while the periodic fsync runs
        await Promise.all(segs.map((s) => fdatasync(s.fd)));
      }
      if (end > this.#flushedEnd) this.#flushedEnd = end;
    })().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Waits until no write is in flight. */
  async drain(): Promise<void> {
    while (this.#waiters.length > 0 || this.#inFlight > 0) {
      await this.#rounds;
      if (this.#waiters.length > 0 || this.#inFlight > 0) await new Promise((r) => setImmediate(r));
    }
  }

  // ---------------------------------------------------------------- read

  /**
   * Reads `len` bytes at `offset` into a new buffer; the range must lie inside one segment and
   * below the write end. Returns undefined when the range is gone (retention) or not written.
   */
  async read(offset: number, len: number): Promise<Buffer | undefined> {
    if (offset < this.minOffset || offset + len > this.#writeEnd) return undefined;
    const seg = this.#segmentAt(offset);
    if (seg === undefined || offset + len > seg.start + this.#opts.segmentSize) return undefined;
    const buf = Buffer.allocUnsafe(len);
    try {
      const n = await readFull(seg.fd, buf, 0, len, offset - seg.start);
      return n === len ? buf : undefined;
    } catch (e) {
      if (isErrno(e, 'EBADF')) return undefined; // removed by retention meanwhile
      throw e;
    }
  }

  /**
   * Where bytes [offset, offset + len) lie on disk, under the same conditions as `read`: inside
   * one segment and below the write end. For readers that read the file themselves.
   */
  locate(offset: number, len: number): { fd: number; position: number } | undefined {
    if (offset < this.minOffset || offset + len > this.#writeEnd) return undefined;
    const seg = this.#segmentAt(offset);
    if (seg === undefined || offset + len > seg.start + this.#opts.segmentSize) return undefined;
    return { fd: seg.fd, position: offset - seg.start };
  }

  /** Start of the segment after the one holding `offset`. */
  nextSegmentStart(offset: number): number {
    return offset - (offset % this.#opts.segmentSize) + this.#opts.segmentSize;
  }

  // ---------------------------------------------------------------- retention

  /** Removes the oldest segment (never the last one). Its fd is closed after a grace period. */
  removeFirstSegment(): Segment | undefined {
    if (this.#segments.length <= 1) return undefined;
    const seg = this.#segments.shift() as Segment;
    fs.rmSync(seg.path, { force: true });
    this.#dirty.delete(seg);
    const fd = seg.fd;
    setTimeout(() => fs.close(fd, () => undefined), 5_000).unref();
    return seg;
  }

  async close(): Promise<void> {
    await this.drain();
    await this.flush();
    await this.#writer.close();
    for (const seg of this.#segments) await closeFd(seg.fd).catch(() => undefined);
    this.#segments = [];
  }
}

/**
 * How many bytes after `from` in a segment's file are not zero (up to the first 1 MiB of zeros):
 * what recovery cuts off behind the last valid record.
 */
async function dataAfter(seg: Segment, from: number): Promise<number> {
  const window = Buffer.allocUnsafe(1 << 20);
  let last = -1;
  for (let at = from; at < seg.length; at += window.length) {
    const n = await readFull(seg.fd, window, 0, Math.min(window.length, seg.length - at), at);
    let found = -1;
    for (let i = n - 1; i >= 0; i--)
      if (window[i] !== 0) {
        found = i;
        break;
      }
    if (found < 0) break;
    last = at + found;
  }
  return last < 0 ? 0 : last + 1 - from;
}
