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
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { crc32 } = require('node:zlib');
const RECORD = ${RECORD_MAGIC}, BLANK = ${BLANK_MAGIC};
const fail = (e) => ({ error: String((e && e.message) || e), code: e && e.code });
const shared = new Map();
parentPort.on('message', (m) => {
  const fds = new Set(m.fds || []);
  if (m.type === 'write') {
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
      return;
    }
    parentPort.postMessage({ id: m.id, stage: 'written' });
  }
  if (m.type === 'forget') shared.delete(m.sabId);
  if (m.sync) {
    try {
      for (const fd of fds) fs.fdatasyncSync(fd);
      parentPort.postMessage({ id: m.id, stage: 'synced' });
    } catch (e) {
      parentPort.postMessage({ id: m.id, stage: 'synced', ...fail(e) });
    }
  }
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
