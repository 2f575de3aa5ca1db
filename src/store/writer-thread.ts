import { Worker } from 'node:worker_threads';
import { BLANK_MAGIC, RECORD_MAGIC } from '../message/codec.js';

/**
 * The CommitLog's writer thread. The main thread encodes records into shared chunks with their
 * CRC field zeroed; this thread fills in each record's CRC-32, writes the chunk with pwrite
 * and, when asked, fdatasyncs, answering "written" and then "synced". CRC and system calls
 * thus run on the second core while the main thread encodes the next chunk.
 *
 * The thread's code is plain JavaScript run with `eval`, so it loads the same way from the
 * TypeScript sources (tests, benchmarks) and from the built package.
 */
const SOURCE = String.raw`
const { parentPort, receiveMessageOnPort } = require('node:worker_threads');
const fs = require('node:fs');
const { crc32 } = require('node:zlib');
const RECORD = ${RECORD_MAGIC}, BLANK = ${BLANK_MAGIC};
const fail = (e) => ({ error: String((e && e.message) || e), code: e && e.code });
const shared = new Map();
function write(m, fds) {
  try {
    for (const p of m.parts) {
      if (p.sab !== undefined) shared.set(p.sabId, p.sab);
      const sab = shared.get(p.sabId);
      const buf = Buffer.from(sab, p.byteOffset, p.length);
      const dv = new DataView(sab, p.byteOffset, p.length);
      for (let o = 0; o + 8 <= p.length; ) {
        const size = dv.getUint32(o, true);
        const magic = dv.getUint32(o + 4, true);
        if (magic === BLANK) break;
        if (magic !== RECORD || size < 12 || o + size > p.length) throw new Error('internal: bad record in chunk at ' + o);
        dv.setUint32(o + 8, crc32(buf.subarray(o, o + size)), true);
        o += size;
      }
      for (let done = 0; done < p.length; ) done += fs.writeSync(p.fd, buf, done, p.length - done, p.position + done);
      fds.add(p.fd);
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, stage: 'written', ...fail(e) });
    return false;
  }
  parentPort.postMessage({ id: m.id, stage: 'written' });
  return true;
}
parentPort.on('message', (first) => {
  // Group commit across rounds: the rounds queued while the last fdatasync ran are written
  // now and share one fdatasync, instead of one each.
  const batch = [first];
  if (first.sync) for (let r; (r = receiveMessageOnPort(parentPort)) !== undefined; ) batch.push(r.message);
  const fds = new Set();
  const syncIds = [];
  for (const m of batch) {
    if (m.type === 'forget') shared.delete(m.sabId);
    if (m.type === 'fsync') for (const fd of m.fds) fds.add(fd);
    if (m.type === 'write' && !write(m, fds)) continue;
    if (m.sync) syncIds.push(m.id);
  }
  if (syncIds.length === 0) return;
  let failure;
  try {
    for (const fd of fds) fs.fdatasyncSync(fd);
  } catch (e) {
    failure = fail(e);
  }
  syncIds.forEach((id, i) => parentPort.postMessage({ id, stage: 'synced', fsyncs: i === 0 ? fds.size : 0, ...failure }));
});
`;

export interface WritePart {
  readonly fd: number;
  /** A Buffer over a SharedArrayBuffer. */
  readonly buf: Buffer;
  readonly length: number;
  readonly position: number;
}

interface Reply {
  id: number;
  stage: 'written' | 'synced';
  /** fdatasync calls made for this reply (several writes may share one). */
  fsyncs?: number;
  error?: string;
  code?: string;
}

interface Pending {
  written?: Deferred;
  synced?: Deferred;
}

interface Deferred {
  resolve(): void;
  reject(e: Error): void;
}

export class WriterThreadError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.code = code;
  }
}

export class WriterThread {
  #worker: Worker;
  #nextId = 1;
  #closed = false;
  /** Shared buffers the thread already holds, by id (sent once, then named). */
  readonly #sabIds = new WeakMap<ArrayBufferLike, number>();
  #nextSabId = 1;
  readonly #pending = new Map<number, Pending>();
  /** fdatasync calls the thread made. */
  fsyncs = 0;

  constructor() {
    this.#worker = this.#start();
  }

  #start(): Worker {
    const w = new Worker(SOURCE, { eval: true });
    w.unref();
    w.on('message', (r: Reply) => this.#onReply(r));
    w.on('error', (err) => this.#failAll(err));
    w.on('exit', (code) => {
      if (this.#pending.size > 0) this.#failAll(new Error(`writer thread exited (${code})`));
    });
    return w;
  }

  #onReply(r: Reply): void {
    if (r.fsyncs !== undefined) this.fsyncs += r.fsyncs;
    const p = this.#pending.get(r.id);
    if (p === undefined) return;
    const d = r.stage === 'written' ? p.written : p.synced;
    if (r.stage === 'written') delete p.written;
    else delete p.synced;
    if (r.error !== undefined) {
      d?.reject(new WriterThreadError(r.error, r.code));
      // a failed write is not followed by a sync
      p.synced?.reject(new WriterThreadError(r.error, r.code));
      delete p.synced;
    } else d?.resolve();
    if (p.written === undefined && p.synced === undefined) this.#pending.delete(r.id);
    if (this.#pending.size === 0) this.#worker.unref();
  }

  #failAll(err: Error): void {
    for (const p of this.#pending.values()) {
      p.written?.reject(err);
      p.synced?.reject(err);
    }
    this.#pending.clear();
    if (!this.#closed) this.#worker = this.#start();
  }

  /**
   * Writes the parts (filling in CRCs); `written` settles once they are in the OS, `synced`
   * (when `sync`) once their files are fdatasynced.
   */
  write(
    parts: readonly WritePart[],
    sync: boolean,
  ): { written: Promise<void>; synced: Promise<void> | undefined } {
    const id = this.#nextId++;
    const p: Pending = {};
    const written = new Promise<void>((resolve, reject) => (p.written = { resolve, reject }));
    const synced = sync
      ? new Promise<void>((resolve, reject) => (p.synced = { resolve, reject }))
      : undefined;
    synced?.catch(() => undefined); // the caller may stop waiting after a timeout
    this.#pending.set(id, p);
    this.#worker.ref();
    this.#worker.postMessage({
      type: 'write',
      id,
      sync,
      parts: parts.map((x) => {
        let sabId = this.#sabIds.get(x.buf.buffer);
        const first = sabId === undefined;
        if (sabId === undefined) {
          sabId = this.#nextSabId++;
          this.#sabIds.set(x.buf.buffer, sabId);
        }
        return {
          fd: x.fd,
          sabId,
          sab: first ? x.buf.buffer : undefined,
          byteOffset: x.buf.byteOffset,
          length: x.length,
          position: x.position,
        };
      }),
    });
    return { written, synced };
  }

  /** fdatasyncs the files (ASYNC_FLUSH's periodic flush). */
  fsync(fds: readonly number[]): Promise<void> {
    const id = this.#nextId++;
    const p: Pending = {};
    const synced = new Promise<void>((resolve, reject) => (p.synced = { resolve, reject }));
    this.#pending.set(id, p);
    this.#worker.ref();
    this.#worker.postMessage({ type: 'fsync', id, sync: true, fds });
    return synced;
  }

  /** Lets the thread drop a buffer the caller no longer uses. */
  forget(buf: Buffer): void {
    const sabId = this.#sabIds.get(buf.buffer);
    if (sabId === undefined) return;
    this.#sabIds.delete(buf.buffer);
    this.#worker.postMessage({ type: 'forget', sabId });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#worker.terminate();
  }
}

/** A chunk buffer the writer thread can see. */
export function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}
