import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { DispatchInfo, RecordPlan } from '../message/codec.js';
import { BLANK_SIZE, OFF_MSG_ID, writeBlank, writeRecord } from '../message/codec.js';
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
  /** Bytes in the file. */
  length: number;
}

/** How a round of appends ended, for every append in it. */
export type WriteOutcome = 'OK' | 'FLUSH_DISK_TIMEOUT' | 'OS_WRITE_FAILED';

interface Chunk {
  start: number;
  buf: Buffer;
  used: number;
}

interface Waiter {
  resolve(outcome: WriteOutcome): void;
}

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
  #infos: DispatchInfo[] = [];
  #waiters: Waiter[] = [];
  #writing: Promise<void> | undefined;
  #pool: Buffer[] = [];
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
    return this.#fsyncCount;
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
      cutBytes += last.length;
      removedSegments.push(path.basename(last.path));
      await closeFd(last.fd);
      fs.rmSync(last.path);
      this.#segments.pop();
    }
    const seg = this.#segmentAt(end);
    if (seg !== undefined && seg.length > end - seg.start) {
      cutBytes += seg.length - (end - seg.start);
      await ftruncate(seg.fd, end - seg.start);
      await fdatasync(seg.fd);
      seg.length = end - seg.start;
    }
    this.#writeEnd = this.#flushedEnd = this.#encodeEnd = end;
    return { cutBytes, removedSegments };
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
    const seg: Segment = { start, path: p, fd, length: 0 };
    this.#segments.push(seg);
    return seg;
  }

  // ---------------------------------------------------------------- append

  /**
   * Encodes a record at the end of the log. Synchronous: the record's position, queue offset and
   * msgId are fixed here; `commit()` then waits for it to be written (and flushed).
   */
  encode(msg: MessageInput, plan: RecordPlan, queueOffset: number, storeTimestamp: number): DispatchInfo {
    let pos = this.#encodeEnd;
    const segSize = this.#opts.segmentSize;
    const segEnd = pos - (pos % segSize) + segSize;
    if (pos + plan.size + BLANK_SIZE > segEnd) {
      const chunk = this.#chunkAt(pos, BLANK_SIZE);
      writeBlank(chunk.buf, chunk.used, segEnd - pos);
      chunk.used += BLANK_SIZE;
      this.#seal();
      pos = segEnd;
    }
    const chunk = this.#chunkAt(pos, plan.size);
    const msgId = writeRecord(
      chunk.buf,
      chunk.used,
      msg,
      plan,
      { queueOffset, commitLogOffset: pos, storeTimestamp },
      false,
    );
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
      msgIdHash: bytesHash(chunk.buf, chunk.used - plan.size + OFF_MSG_ID, MSG_ID_BYTES),
      storeTimestamp,
      sysFlag: msg.sysFlag ?? 0,
    };
    this.#infos.push(info);
    return info;
  }

  /** Waits until everything encoded so far is written (and fsynced under SYNC_FLUSH). */
  commit(): Promise<WriteOutcome> {
    return new Promise((resolve) => {
      this.#waiters.push({ resolve });
      if (this.#writing === undefined) this.#writing = this.#writeLoop();
    });
  }

  #chunkAt(pos: number, need: number): Chunk {
    const c = this.#current;
    if (c !== undefined && c.start + c.used === pos && c.used + need <= c.buf.length) return c;
    this.#seal();
    const size = Math.max(this.#opts.writeChunkSize, need);
    const buf = size === this.#opts.writeChunkSize ? this.#pool.pop() : undefined;
    const chunk: Chunk = { start: pos, buf: buf ?? sharedBuffer(size), used: 0 };
    this.#current = chunk;
    return chunk;
  }

  #seal(): void {
    if (this.#current !== undefined && this.#current.used > 0) this.#sealed.push(this.#current);
    this.#current = undefined;
  }

  async #writeLoop(): Promise<void> {
    // let the appends of this tick join the round
    await new Promise<void>((r) => setImmediate(r));
    while (this.#waiters.length > 0) {
      this.#seal();
      const chunks = this.#sealed;
      const infos = this.#infos;
      const waiters = this.#waiters;
      this.#sealed = [];
      this.#infos = [];
      this.#waiters = [];
      const { final } = await this.#writeRound(chunks, infos);
      // under SYNC_FLUSH the next round is written while this one's fsync runs
      void final.then((outcome) => {
        for (const w of waiters) w.resolve(outcome);
      });
    }
    this.#writing = undefined;
  }

  /** Writes a round; resolves once written, with a promise of the round's final outcome. */
  async #writeRound(chunks: Chunk[], infos: DispatchInfo[]): Promise<{ final: Promise<WriteOutcome> }> {
    const touched = new Set<Segment>();
    const sync = this.#opts.flushDiskType === 'SYNC_FLUSH';
    let synced: Promise<void> | undefined;
    try {
      const parts = chunks.map((chunk) => {
        const seg = this.#segmentFor(chunk.start);
        touched.add(seg);
        return { fd: seg.fd, buf: chunk.buf, length: chunk.used, position: chunk.start - seg.start };
      });
      if (sync) this.#fsyncCount += touched.size;
      const op = this.#writer.write(parts, sync);
      synced = op.synced;
      await op.written;
    } catch (err) {
      await this.#writeFailed(err);
      return { final: Promise.resolve('OS_WRITE_FAILED') };
    }
    for (const chunk of chunks) {
      const seg = this.#segmentAt(chunk.start) as Segment;
      seg.length = Math.max(seg.length, chunk.start - seg.start + chunk.used);
      this.#writeEnd = chunk.start + chunk.used;
      if (chunk.buf.length === this.#opts.writeChunkSize && this.#pool.length < 4) this.#pool.push(chunk.buf);
      else this.#writer.forget(chunk.buf);
    }
    this.#hooks?.dispatch(infos);
    if (synced === undefined) {
      for (const seg of touched) this.#dirty.add(seg);
      return { final: Promise.resolve('OK') };
    }
    return { final: this.#awaitSync(synced, this.#writeEnd) };
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
   * A write failed (disk full, I/O error): everything not yet written is lost to its callers,
   * who get OS_WRITE_FAILED. The files are cut back to the last complete write so the log stays
   * valid, and the owner takes back the queue offsets it handed out.
   */
  async #writeFailed(err: unknown): Promise<void> {
    this.#log.error({ err, writeEnd: this.#writeEnd }, 'commitlog write failed; pending appends are refused');
    const failed = this.#waiters;
    this.#waiters = [];
    this.#current = undefined;
    this.#sealed = [];
    this.#infos = [];
    this.#encodeEnd = this.#writeEnd;
    for (const seg of this.#segments) {
      const keep = Math.max(0, Math.min(seg.length, this.#writeEnd - seg.start));
      if (keep < seg.length) {
        try {
          await ftruncate(seg.fd, keep);
          seg.length = keep;
        } catch (e) {
          this.#log.error({ err: e, segment: seg.path }, 'could not cut back a failed write');
        }
      }
    }
    this.#hooks?.rewind();
    for (const w of failed) w.resolve('OS_WRITE_FAILED');
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
        await this.#writer.fsync(segs.map((s) => s.fd));
      }
      if (end > this.#flushedEnd) this.#flushedEnd = end;
    })().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Waits until no write is in flight. */
  async drain(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
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
