import fs from 'node:fs';
import path from 'node:path';
import { bytesHash, topicKeyHash } from '../message/hash.js';
import { MSG_ID_BYTES } from '../message/msg-id.js';
import type { Logger } from 'pino';
import type { DispatchInfo } from '../message/codec.js';
import { listNumbered, padName } from './fs-util.js';
import type { IndexHit } from './index-file.js';
import { IndexFile } from './index-file.js';

/**
 * The KeyIndex: every message is findable by its msgId, and by `topic#key` for each of its
 * keys, through a chain of IndexFiles named by the first CommitLog offset they cover. Built by
 * the dispatcher from the CommitLog, so it can always be rebuilt.
 */
export class KeyIndex {
  readonly dir: string;
  readonly #slots: number;
  readonly #entries: number;
  readonly #log: Logger;
  #files: IndexFile[] = [];

  constructor(dataDir: string, slots: number, entries: number, log: Logger) {
    this.dir = path.join(dataDir, 'index');
    this.#slots = slots;
    this.#entries = entries;
    this.#log = log.child({ component: 'key-index' });
  }

  /** The hash of a msgId (text form): over its 16 bytes, as `put` computes it. */
  static msgIdHash(msgId: string): number {
    return bytesHash(Buffer.from(msgId, 'hex'), 0, MSG_ID_BYTES);
  }
  static topicKeyHash(topic: string, key: string): number {
    return topicKeyHash(topic, key);
  }

  async load(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const names = listNumbered(this.dir);
    for (const [i, { name }] of names.entries()) {
      const p = path.join(this.dir, name);
      try {
        this.#files.push(IndexFile.open(p, i === names.length - 1));
      } catch (err) {
        // a file cut short by a crash, or damaged: it and the ones after it are rebuilt by replay
        this.#log.warn({ err, file: p }, 'index file unreadable; rebuilding from the log');
        for (const rest of names.slice(i)) fs.rmSync(path.join(this.dir, rest.name), { force: true });
        const last = this.#files.at(-1);
        if (last !== undefined && !last.active) {
          this.#files.pop();
          last.close();
          this.#files.push(IndexFile.open(last.path, true));
        }
        break;
      }
    }
    const last = this.#files.at(-1);
    if (last?.isFull) await last.seal();
  }

  /** Records at or past this offset are not (durably) indexed yet and must be replayed. */
  get indexedEnd(): number | undefined {
    return this.#files.at(-1)?.endPhyOffset;
  }

  /** Drops files that start at or past `offset` (their records are gone) and cuts the end. */
  async truncateFrom(offset: number): Promise<void> {
    while (this.#files.length > 0 && (this.#files.at(-1) as IndexFile).beginPhyOffset >= offset) {
      const f = this.#files.pop() as IndexFile;
      f.close();
      fs.rmSync(f.path, { force: true });
    }
    const last = this.#files.at(-1);
    if (last !== undefined && last.endPhyOffset > offset && !last.active) {
      // a sealed file cannot take new entries: later records go to a new file
      this.#log.warn({ file: last.path }, 'index file extends past the end of the log');
    }
  }

  #active(first: DispatchInfo, need: number): IndexFile {
    const cur = this.#files.at(-1);
    if (
      cur !== undefined &&
      cur.active &&
      cur.count + need <= cur.maxEntries &&
      cur.fitsTime(first.storeTimestamp)
    )
      return cur;
    if (cur !== undefined && cur.active) {
      cur.endPhyOffset = first.commitLogOffset;
      cur.seal().catch((err: unknown) => this.#log.error({ err }, 'sealing an index file failed'));
    }
    const p = path.join(this.dir, padName(first.commitLogOffset));
    const f = IndexFile.create(p, this.#slots, Math.max(this.#entries, need), first.commitLogOffset);
    this.#files.push(f);
    return f;
  }

  /** Indexes one record (stages its entries; `endRound` writes them). */
  put(info: DispatchInfo): void {
    const f = this.#active(info, 1 + info.keys.length);
    f.put(info.msgIdHash, info.commitLogOffset, info.size, info.storeTimestamp);
    for (const k of info.keys)
      f.put(topicKeyHash(info.topic, k), info.commitLogOffset, info.size, info.storeTimestamp);
  }

  /** Ends a dispatch round: entries are written and every record below `end` is indexed. */
  endRound(end: number): void {
    const f = this.#files.at(-1);
    if (f === undefined || !f.active) return;
    f.writeStaged();
    f.endPhyOffset = end;
  }

  async flush(): Promise<void> {
    const f = this.#files.at(-1);
    if (f !== undefined && f.active) await f.flush();
  }

  /** Candidate records whose key hashes to `hash`, stored within [begin, end], newest first. */
  async lookup(hash: number, begin: number, end: number, max: number): Promise<IndexHit[]> {
    const hits: IndexHit[] = [];
    for (let i = this.#files.length - 1; i >= 0 && hits.length < max; i--) {
      const f = this.#files[i] as IndexFile;
      if (f.count === 0 || f.endTimestamp < begin || f.beginTimestamp > end) continue;
      hits.push(...(await f.lookup(hash, begin, end, max - hits.length)));
    }
    return hits;
  }

  /** Retention: deletes sealed files whose records are all below `minOffset`. */
  dropBelow(minOffset: number): number {
    let n = 0;
    while (this.#files.length > 1) {
      const f = this.#files[0] as IndexFile;
      if (f.active || f.endPhyOffset > minOffset) break;
      this.#files.shift();
      fs.rmSync(f.path, { force: true });
      setTimeout(() => f.close(), 5_000).unref();
      n++;
    }
    return n;
  }

  async close(): Promise<void> {
    const f = this.#files.at(-1);
    if (f !== undefined && f.active) {
      f.writeStaged();
      await f.flush();
    }
    for (const file of this.#files) file.close();
    this.#files = [];
  }
}
