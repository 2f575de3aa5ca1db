import fs from 'node:fs';
import { getI64, getU64, setI64, setU64, viewOf } from '../message/bytes.js';
import path from 'node:path';
import { fsync, listNumbered, padName, readFull, readFullSync, writeFullSync } from './fs-util.js';

/**
 * A ConsumeQueue: the index of one queue of one topic. Entry `n` describes the message at queue
 * offset `n`, so finding it is arithmetic. Files hold `entriesPerFile` entries each and are
 * named by their first queue offset.
 *
 *    0                 8          12                 20
 *    +-----------------+----------+------------------+
 *    | commitLogOffset | size     | tagsCode (i64)   |
 *    +-----------------+----------+------------------+
 *
 * tagsCode is the tag's hash (a pre-filter; the tag string is checked on the record) or, for
 * delayed messages, their delivery time. An entry of size 0 marks a record that was lost to
 * corruption: its offset is kept so later offsets do not move.
 *
 * Entries are written to the OS as records are dispatched and fsynced at each checkpoint; the
 * whole queue can be rebuilt from the CommitLog.
 */
export const CQ_ENTRY_SIZE = 20;
const READ_AHEAD = 1024;
/** Entries written lately kept in memory for consumers at the tail (see `#keepTail`). */
const TAIL = 1024;

export interface CqEntry {
  readonly commitLogOffset: number;
  readonly size: number;
  readonly tagsCode: number;
}

interface CqFile {
  readonly start: number;
  readonly path: string;
  readonly fd: number;
}

export function readCqEntry(buf: Buffer, i: number): CqEntry {
  const o = i * CQ_ENTRY_SIZE;
  const dv = viewOf(buf);
  return { commitLogOffset: getU64(dv, o), size: dv.getUint32(o + 8, true), tagsCode: getI64(dv, o + 12) };
}

function writeCqEntry(
  dv: DataView,
  o: number,
  commitLogOffset: number,
  size: number,
  tagsCode: number,
): void {
  setU64(dv, o, commitLogOffset);
  dv.setUint32(o + 8, size, true);
  setI64(dv, o + 12, tagsCode);
}

export class ConsumeQueue {
  readonly topic: string;
  readonly queueId: number;
  readonly dir: string;
  readonly #perFile: number;
  #files: CqFile[] = [];
  #maxOffset = 0;
  #minOffset = 0;
  #staged: Buffer = Buffer.alloc(0);
  #stagedView: DataView = viewOf(this.#staged);
  #stagedCount = 0;
  #dirty = false;
  #cache: { start: number; buf: Buffer; count: number } | undefined;
  /**
   * The entries written last (a block filled as they are written, replaced by a new one when
   * full): a consumer keeping up with the producers finds them here instead of reading the
   * file back through the thread pool on every take.
   */
  #tail: { start: number; buf: Buffer; count: number } | undefined;
  /** Bumped by truncation and retention: a read that raced one does not keep its block. */
  #generation = 0;

  constructor(root: string, topic: string, queueId: number, entriesPerFile: number) {
    this.topic = topic;
    this.queueId = queueId;
    this.dir = path.join(root, topic, String(queueId));
    this.#perFile = entriesPerFile;
  }

  /** Next offset to be written: the number of entries ever written. */
  get maxOffset(): number {
    return this.#maxOffset;
  }
  /** Lowest offset still readable (retention moves it up). */
  get minOffset(): number {
    return this.#minOffset;
  }

  /** Opens the files on disk; a partly written last entry is cut off. */
  load(): void {
    fs.mkdirSync(this.dir, { recursive: true });
    const names = listNumbered(this.dir);
    for (const { name, start } of names) {
      const p = path.join(this.dir, name);
      this.#files.push({ start, path: p, fd: fs.openSync(p, 'r+') });
    }
    const last = this.#files.at(-1);
    if (last === undefined) return;
    const size = fs.fstatSync(last.fd).size;
    const whole = Math.floor(size / CQ_ENTRY_SIZE);
    if (whole * CQ_ENTRY_SIZE !== size) fs.ftruncateSync(last.fd, whole * CQ_ENTRY_SIZE);
    this.#maxOffset = last.start + whole;
    this.#minOffset = (this.#files[0] as CqFile).start;
  }

  /** Drops the entries at the tail that point at or past `commitLogOffset` (to be replayed). */
  truncateFrom(commitLogOffset: number): number {
    const one = Buffer.allocUnsafe(CQ_ENTRY_SIZE);
    let dropped = 0;
    while (this.#maxOffset > this.#minOffset) {
      const n = this.#maxOffset - 1;
      const f = this.#fileOf(n) as CqFile;
      readFullSync(f.fd, one, 0, CQ_ENTRY_SIZE, (n - f.start) * CQ_ENTRY_SIZE);
      if (readCqEntry(one, 0).commitLogOffset < commitLogOffset) break;
      this.#maxOffset = n;
      dropped++;
    }
    if (dropped > 0) this.#cutFilesAt(this.#maxOffset);
    this.#invalidate();
    return dropped;
  }

  #cutFilesAt(offset: number): void {
    while (this.#files.length > 1 && (this.#files.at(-1) as CqFile).start >= offset) {
      const f = this.#files.pop() as CqFile;
      fs.closeSync(f.fd);
      fs.rmSync(f.path, { force: true });
    }
    const f = this.#files.at(-1);
    if (f !== undefined) fs.ftruncateSync(f.fd, Math.max(0, offset - f.start) * CQ_ENTRY_SIZE);
    if (this.#files.length === 1 && offset <= (f as CqFile).start) this.#minOffset = offset;
  }

  #fileOf(offset: number): CqFile | undefined {
    const first = this.#files[0];
    if (first === undefined || offset < first.start) return undefined;
    return this.#files[Math.floor((offset - first.start) / this.#perFile)];
  }

  /**
   * Stages the entry for the record at queue offset `queueOffset`. Returns how many placeholder
   * entries had to be added for offsets whose records were lost (0 normally), or -1 if that
   * offset is already present (a replayed record).
   */
  stage(queueOffset: number, commitLogOffset: number, size: number, tagsCode: number): number {
    const next = this.#maxOffset + this.#stagedCount;
    if (queueOffset < next) return -1;
    const gap = queueOffset - next;
    for (let i = 0; i < gap; i++) this.#stageOne(commitLogOffset, 0, 0);
    this.#stageOne(commitLogOffset, size, tagsCode);
    return gap;
  }

  #stageOne(commitLogOffset: number, size: number, tagsCode: number): void {
    const need = (this.#stagedCount + 1) * CQ_ENTRY_SIZE;
    if (need > this.#staged.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.#staged.length * 2, 64 * CQ_ENTRY_SIZE));
      this.#staged.copy(bigger, 0, 0, this.#stagedCount * CQ_ENTRY_SIZE);
      this.#staged = bigger;
      this.#stagedView = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
    }
    writeCqEntry(this.#stagedView, this.#stagedCount * CQ_ENTRY_SIZE, commitLogOffset, size, tagsCode);
    this.#stagedCount++;
  }

  /** Writes the staged entries to the OS (one write per file touched) and makes them visible. */
  writeStaged(): void {
    const first = this.#maxOffset;
    let done = 0;
    while (done < this.#stagedCount) {
      const offset = this.#maxOffset;
      const fileStart = offset - (offset % this.#perFile);
      let f = this.#files.at(-1);
      if (f === undefined || f.start !== fileStart) {
        const p = path.join(this.dir, padName(fileStart));
        f = { start: fileStart, path: p, fd: fs.openSync(p, fs.constants.O_RDWR | fs.constants.O_CREAT) };
        this.#files.push(f);
        if (this.#files.length === 1) this.#minOffset = fileStart;
      }
      const n = Math.min(this.#stagedCount - done, fileStart + this.#perFile - offset);
      writeFullSync(
        f.fd,
        this.#staged,
        done * CQ_ENTRY_SIZE,
        n * CQ_ENTRY_SIZE,
        (offset - fileStart) * CQ_ENTRY_SIZE,
      );
      this.#maxOffset += n;
      done += n;
    }
    this.#keepTail(first);
    this.#stagedCount = 0;
    this.#dirty = true;
    if (this.#staged.length > 1 << 20) {
      this.#staged = Buffer.alloc(0);
      this.#stagedView = viewOf(this.#staged);
    }
  }

  /** Copies the staged entries, just written at `from`, into the tail block. */
  #keepTail(from: number): void {
    const n = this.#stagedCount;
    let t = this.#tail;
    if (t === undefined || t.start + t.count !== from || t.count + n > TAIL) {
      if (n > TAIL) {
        this.#tail = undefined;
        return;
      }
      // a new block: readers keep views of the old one, whose entries never change
      t = this.#tail = { start: from, buf: Buffer.allocUnsafeSlow(TAIL * CQ_ENTRY_SIZE), count: 0 };
    }
    this.#staged.copy(t.buf, t.count * CQ_ENTRY_SIZE, 0, n * CQ_ENTRY_SIZE);
    t.count += n;
  }

  /**
   * Reads up to `count` entries from `offset` (fewer at a file boundary, at the end, or at the
   * end of the kept block) as raw bytes; read them with `readCqEntry`. Entries never change once written, so the last block
   * read is kept: a consumer moving forward reads the file once per READ_AHEAD entries.
   */
  async read(offset: number, count: number): Promise<{ buf: Buffer; count: number }> {
    const end = Math.min(this.#maxOffset, offset + count);
    const c = this.#cache;
    if (c !== undefined && offset >= c.start && offset < c.start + c.count) {
      // what the kept block has: callers read on for more
      const n = Math.min(end, c.start + c.count) - offset;
      const from = (offset - c.start) * CQ_ENTRY_SIZE;
      return { buf: c.buf.subarray(from, from + n * CQ_ENTRY_SIZE), count: n };
    }
    const t = this.#tail;
    if (t !== undefined && offset >= t.start && offset < t.start + t.count && offset >= this.#minOffset) {
      const n = Math.min(end, t.start + t.count) - offset;
      const from = (offset - t.start) * CQ_ENTRY_SIZE;
      return { buf: t.buf.subarray(from, from + n * CQ_ENTRY_SIZE), count: n };
    }
    const f = this.#fileOf(offset);
    if (offset < this.#minOffset || offset >= end || f === undefined)
      return { buf: Buffer.alloc(0), count: 0 };
    const ahead =
      Math.min(this.#maxOffset, offset + Math.max(count, READ_AHEAD), f.start + this.#perFile) - offset;
    const buf = Buffer.allocUnsafe(ahead * CQ_ENTRY_SIZE);
    const generation = this.#generation;
    const got = Math.floor(
      (await readFull(f.fd, buf, 0, ahead * CQ_ENTRY_SIZE, (offset - f.start) * CQ_ENTRY_SIZE)) /
        CQ_ENTRY_SIZE,
    );
    if (generation === this.#generation) this.#cache = { start: offset, buf, count: got };
    const n = Math.min(got, end - offset, f.start + this.#perFile - offset);
    return { buf: buf.subarray(0, n * CQ_ENTRY_SIZE), count: n };
  }

  async entryAt(offset: number): Promise<CqEntry | undefined> {
    const { buf, count } = await this.read(offset, 1);
    return count === 1 ? readCqEntry(buf, 0) : undefined;
  }

  /** fsyncs the files written since the last call. */
  async flush(): Promise<void> {
    if (!this.#dirty) return;
    this.#dirty = false;
    const last = this.#files.slice(-2);
    await Promise.all(last.map((f) => fsync(f.fd)));
  }

  /**
   * Retention: moves the min offset to the first entry whose record is at or past
   * `minCommitLogOffset` and deletes files left wholly below it (never the last file).
   */
  async dropBelow(minCommitLogOffset: number): Promise<void> {
    // binary search: commit-log offsets grow with the queue offset
    let lo = this.#minOffset;
    let hi = this.#maxOffset;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const e = await this.entryAt(mid);
      if (e !== undefined && e.commitLogOffset < minCommitLogOffset) lo = mid + 1;
      else hi = mid;
    }
    this.#minOffset = lo;
    this.#invalidate();
    while (this.#files.length > 1 && (this.#files[1] as CqFile).start <= lo) {
      const f = this.#files.shift() as CqFile;
      fs.rmSync(f.path, { force: true });
      const fd = f.fd;
      setTimeout(() => fs.close(fd, () => undefined), 5_000).unref();
    }
  }

  #invalidate(): void {
    this.#cache = undefined;
    this.#tail = undefined;
    this.#generation++;
  }

  close(): void {
    for (const f of this.#files) fs.closeSync(f.fd);
    this.#files = [];
  }
}
