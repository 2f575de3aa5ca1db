import fs from 'node:fs';
import { setU64, viewOf } from '../message/bytes.js';
import { readU64, writeU64 } from '../message/codec.js';
import { fsync, readFull, readFullSync, writeFullSync } from './fs-util.js';

/**
 * One file of the KeyIndex: a hash table on disk (RocketMQ's IndexFile). A key's hash picks a
 * slot; the slot holds the newest entry with that hash, each entry points to the one before.
 *
 *   header (64 bytes)
 *    0        4        8        12       16                24                32
 *    +--------+--------+--------+--------+-----------------+-----------------+
 *    | magic  | slots  | maxEnt | count  | beginTimestamp  | endTimestamp    |
 *    +--------+--------+--------+--------+-----------------+-----------------+
 *   32                 40                48
 *    +-----------------+-----------------+----------------+
 *    | beginPhyOffset  | endPhyOffset    | reserved (16)  |
 *    +-----------------+-----------------+----------------+
 *   slots: `slots` x u32 (entry number, 1-based; 0 = empty)
 *   entries: `maxEnt` x 24 bytes
 *    0        4                 12       16       20       24
 *    +--------+-----------------+--------+--------+--------+
 *    | hash   | commitLogOffset | size   | time   | prev   |
 *    +--------+-----------------+--------+--------+--------+
 *   time: ms since beginTimestamp.
 *
 * `count` and `endPhyOffset` in the header are the commit point: every record below
 * endPhyOffset is in entries 1..count. The active file keeps its slots in memory and rebuilds
 * them from its entries on open, so only the header needs writing at a checkpoint; slots go to
 * disk when the file is sealed. Hits are only candidates: the caller checks the record.
 */
const MAGIC = 0x4d514749; // "MQGI"
export const INDEX_HEADER_SIZE = 64;
export const INDEX_ENTRY_SIZE = 24;
const MAX_TIME_DELTA = 0xffffffff;

export interface IndexHit {
  readonly commitLogOffset: number;
  readonly size: number;
  readonly time: number;
}

export class IndexFile {
  readonly path: string;
  readonly fd: number;
  readonly slotCount: number;
  readonly maxEntries: number;
  #count = 0;
  beginTimestamp = 0;
  endTimestamp = 0;
  beginPhyOffset = 0;
  endPhyOffset = 0;
  /** In memory while the file is active; undefined once sealed. */
  #slots: Uint32Array | undefined;
  #staged: Buffer;
  #stagedView: DataView;
  #stagedCount = 0;
  #written = 0;

  private constructor(p: string, fd: number, slotCount: number, maxEntries: number) {
    this.path = p;
    this.fd = fd;
    this.slotCount = slotCount;
    this.maxEntries = maxEntries;
    this.#staged = Buffer.allocUnsafe(0);
    this.#stagedView = viewOf(this.#staged);
  }

  /** Creates a file, header first under a temporary name, so a crash never leaves a headless one. */
  static create(p: string, slotCount: number, maxEntries: number, beginPhyOffset: number): IndexFile {
    const tmp = `${p}.tmp`;
    const fd = fs.openSync(tmp, 'w+');
    const f = new IndexFile(p, fd, slotCount, maxEntries);
    f.beginPhyOffset = f.endPhyOffset = beginPhyOffset;
    f.#slots = new Uint32Array(slotCount);
    f.writeHeader();
    fs.ftruncateSync(fd, INDEX_HEADER_SIZE + slotCount * 4 + maxEntries * INDEX_ENTRY_SIZE);
    fs.renameSync(tmp, p);
    return f;
  }

  /** Opens a file; an active one rebuilds its slots from its committed entries. */
  static open(p: string, active: boolean): IndexFile {
    const fd = fs.openSync(p, 'r+');
    const h = Buffer.alloc(INDEX_HEADER_SIZE);
    readFullSync(fd, h, 0, INDEX_HEADER_SIZE, 0);
    if (h.readUInt32LE(0) !== MAGIC) {
      fs.closeSync(fd);
      throw new Error(`index file ${p} has a bad header`);
    }
    const f = new IndexFile(p, fd, h.readUInt32LE(4), h.readUInt32LE(8));
    f.#count = f.#written = h.readUInt32LE(12);
    f.beginTimestamp = readU64(h, 16);
    f.endTimestamp = readU64(h, 24);
    f.beginPhyOffset = readU64(h, 32);
    f.endPhyOffset = readU64(h, 40);
    if (active) f.#rebuildSlots();
    return f;
  }

  get count(): number {
    return this.#count;
  }
  get active(): boolean {
    return this.#slots !== undefined;
  }
  get isFull(): boolean {
    return this.#count >= this.maxEntries;
  }

  #entryPos(n: number): number {
    return INDEX_HEADER_SIZE + this.slotCount * 4 + (n - 1) * INDEX_ENTRY_SIZE;
  }

  #rebuildSlots(): void {
    const slots = new Uint32Array(this.slotCount);
    const batch = 65536;
    const buf = Buffer.allocUnsafe(batch * INDEX_ENTRY_SIZE);
    for (let n = 1; n <= this.#count; n += batch) {
      const k = Math.min(batch, this.#count - n + 1);
      readFullSync(this.fd, buf, 0, k * INDEX_ENTRY_SIZE, this.#entryPos(n));
      for (let i = 0; i < k; i++) slots[buf.readUInt32LE(i * INDEX_ENTRY_SIZE) % this.slotCount] = n + i;
    }
    this.#slots = slots;
  }

  /** Whether an entry stored at `time` still fits this file's time range. */
  fitsTime(time: number): boolean {
    return this.#count === 0 || time - this.beginTimestamp <= MAX_TIME_DELTA;
  }

  /** Adds an entry (the caller checked `isFull` and `fitsTime`). */
  put(hash: number, commitLogOffset: number, size: number, time: number): void {
    const slots = this.#slots as Uint32Array;
    if (this.#count === 0) this.beginTimestamp = time;
    const slot = hash % this.slotCount;
    const n = ++this.#count;
    const need = (this.#stagedCount + 1) * INDEX_ENTRY_SIZE;
    if (need > this.#staged.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.#staged.length * 2, 256 * INDEX_ENTRY_SIZE));
      this.#staged.copy(bigger, 0, 0, this.#stagedCount * INDEX_ENTRY_SIZE);
      this.#staged = bigger;
      this.#stagedView = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
    }
    const o = this.#stagedCount * INDEX_ENTRY_SIZE;
    const dv = this.#stagedView;
    dv.setUint32(o, hash, true);
    setU64(dv, o + 4, commitLogOffset);
    dv.setUint32(o + 12, size, true);
    dv.setUint32(o + 16, Math.min(MAX_TIME_DELTA, Math.max(0, time - this.beginTimestamp)), true);
    dv.setUint32(o + 20, slots[slot] as number, true);
    this.#stagedCount++;
    slots[slot] = n;
    if (time > this.endTimestamp) this.endTimestamp = time;
  }

  /** Writes the staged entries to the OS (they become readable). */
  writeStaged(): void {
    if (this.#stagedCount === 0) return;
    writeFullSync(
      this.fd,
      this.#staged,
      0,
      this.#stagedCount * INDEX_ENTRY_SIZE,
      this.#entryPos(this.#written + 1),
    );
    this.#written += this.#stagedCount;
    this.#stagedCount = 0;
    if (this.#staged.length > 1 << 20) {
      this.#staged = Buffer.allocUnsafe(0);
      this.#stagedView = viewOf(this.#staged);
    }
  }

  writeHeader(): void {
    const h = Buffer.alloc(INDEX_HEADER_SIZE);
    h.writeUInt32LE(MAGIC, 0);
    h.writeUInt32LE(this.slotCount, 4);
    h.writeUInt32LE(this.maxEntries, 8);
    h.writeUInt32LE(this.#written, 12);
    writeU64(h, 16, this.beginTimestamp);
    writeU64(h, 24, this.endTimestamp);
    writeU64(h, 32, this.beginPhyOffset);
    writeU64(h, 40, this.endPhyOffset);
    writeFullSync(this.fd, h, 0, INDEX_HEADER_SIZE, 0);
  }

  /** Checkpoint: header (the commit point) then fsync. */
  async flush(): Promise<void> {
    this.writeHeader();
    await fsync(this.fd);
  }

  /** Writes the slots so lookups can read them from disk, then drops them from memory. */
  async seal(): Promise<void> {
    const slots = this.#slots;
    if (slots === undefined) return;
    this.writeStaged();
    writeFullSync(
      this.fd,
      Buffer.from(slots.buffer, slots.byteOffset, slots.byteLength),
      0,
      slots.byteLength,
      INDEX_HEADER_SIZE,
    );
    this.#slots = undefined;
    await this.flush();
  }

  /**
   * Entries with this hash stored within [begin, end], newest first, at most `max`.
   */
  async lookup(hash: number, begin: number, end: number, max: number): Promise<IndexHit[]> {
    const hits: IndexHit[] = [];
    const slot = hash % this.slotCount;
    let n: number;
    if (this.#slots !== undefined) n = this.#slots[slot] as number;
    else {
      const b = Buffer.allocUnsafe(4);
      await readFull(this.fd, b, 0, 4, INDEX_HEADER_SIZE + slot * 4);
      n = b.readUInt32LE(0);
    }
    const e = Buffer.allocUnsafe(INDEX_ENTRY_SIZE);
    const limit = this.#written;
    while (n > 0 && n <= limit && hits.length < max) {
      if ((await readFull(this.fd, e, 0, INDEX_ENTRY_SIZE, this.#entryPos(n))) < INDEX_ENTRY_SIZE) break;
      const time = this.beginTimestamp + e.readUInt32LE(16);
      if (e.readUInt32LE(0) === hash && time >= begin && time <= end)
        hits.push({ commitLogOffset: readU64(e, 4), size: e.readUInt32LE(12), time });
      const prev = e.readUInt32LE(20);
      if (prev >= n) break; // chains only go back; anything else is damage
      n = prev;
    }
    return hits;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
