import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { MqgateError } from '../../errors.js';
import { fdatasync, fsyncDirSync, writeFileAtomic, writeFileAtomicSync } from '../../store/fs-util.js';
import { readJsonFile } from '../json-file.js';
import type { CursorKey, Inflight } from './queue-cursor.js';
import { QueueCursor, cursorId } from './queue-cursor.js';
import { randomVersion } from './receipt-handle.js';

/**
 * The consumer side's durable state: every {@link QueueCursor} (committed offsets, messages in
 * flight with their invisible times, out-of-order acks), kept in memory and made durable as a
 * snapshot plus a journal of the changes since.
 *
 * Journal lines are short comma-separated records ending in `;`, written to the OS at the end of the event-loop turn that made
 * them (so they survive kill -9 of the process, as ASYNC_FLUSH does) and fsynced by `flush()`.
 * A line lost to a power cut can only make a message come back (at-least-once), never vanish:
 * every change that finishes a message is journaled after the change that handed it out.
 *
 * ```
 *   k[no,"group","client","topic",queueId,"retryOf"]   (JSON) names cursor `no` before its first line in a file
 *   i,id,offset                                cursor (re)starts at offset
 *   T,id,first,count,visibleAt,version,redeliveries[,owner]   first..first+count-1 handed
 *                                              out, versions version..version+count-1
 *   s,id,from,to                               [from, to) skipped, except what is in flight
 *   F,id,first,count                           first..first+count-1 finished
 *   c,id,offset,visibleAt,version              invisible time changed
 *   r,id,offset                                released, to be handed out again
 * ```
 * Snapshot `snapshot.json` holds `nextJournal`: it includes every journal numbered below it;
 * loading replays the journals from there on, in order.
 */

interface SnapshotCursor {
  readonly no: number;
  readonly key: CursorKey;
  readonly ack: number;
  readonly pop: number;
  readonly inflight: [number, number, number, number, string?][];
  readonly done: number[];
  readonly released: number[];
}

interface Snapshot {
  readonly version: 1;
  readonly nextJournal: number;
  readonly cursors: SnapshotCursor[];
}

interface Run extends Inflight {
  readonly kind: 'T' | 'F';
  readonly c: QueueCursor;
  readonly first: number;
  count: number;
}

/** Journal size that triggers a new snapshot. */
const SNAPSHOT_AFTER_BYTES = 8 * 1024 * 1024;

export class ConsumerState {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #cursors = new Map<string, QueueCursor>();
  readonly #byNo = new Map<number, QueueCursor>();
  #nextNo = 1;
  /** The cursors named (`k` line) in the current journal file. */
  #named = new Set<QueueCursor>();
  #journalNo = 0;
  #fd = -1;
  #journalBytes = 0;
  #pending: string[] = [];
  /** Consecutive takes or finishes not yet turned into a line. */
  #run: Run | undefined;
  #flushScheduled = false;
  #closed = false;

  constructor(dir: string, log: Logger) {
    this.#dir = dir;
    this.#log = log;
    fs.mkdirSync(dir, { recursive: true });
    this.#load();
  }

  get(key: CursorKey): QueueCursor | undefined {
    return this.#cursors.get(cursorId(key));
  }

  /** The cursor a receipt handle names. */
  byNo(no: number): QueueCursor | undefined {
    return this.#byNo.get(no);
  }

  #add(c: QueueCursor): QueueCursor {
    this.#cursors.set(c.id, c);
    this.#byNo.set(c.no, c);
    if (c.no >= this.#nextNo) this.#nextNo = c.no + 1;
    return c;
  }

  all(): IterableIterator<QueueCursor> {
    return this.#cursors.values();
  }

  /** Called with an in-flight entry as it is settled, replaced or dropped. */
  onSettle: (s: Inflight) => void = () => {};

  #settle(c: QueueCursor, offset: number): void {
    const s = c.inflight.get(offset);
    if (s !== undefined) this.onSettle(s);
  }

  /** A fresh version for a hand-out or a change of invisible time: random, so unguessable. */
  nextVersion(): number {
    return randomVersion();
  }

  /** Creates or moves a cursor to `offset` (a new group's start, a commit or a reset). */
  init(key: CursorKey, offset: number): QueueCursor {
    const id = cursorId(key);
    let c = this.#cursors.get(id);
    if (c === undefined) c = this.#add(new QueueCursor(key, offset, this.#nextNo++));
    else {
      for (const s of c.inflight.values()) this.onSettle(s);
      c.reset(offset);
    }
    this.#write(`i,${this.#idOf(c)},${offset}`);
    return c;
  }

  /** Hands out an offset. Consecutive hand-outs of one batch become one journal line. */
  take(c: QueueCursor, offset: number, s: Inflight): void {
    this.#settle(c, offset);
    c.take(offset, s);
    const r = this.#run;
    if (
      r?.kind === 'T' &&
      r.c === c &&
      offset === r.first + r.count &&
      s.visibleAt === r.visibleAt &&
      s.version === r.version + r.count &&
      s.redeliveries === r.redeliveries &&
      s.owner === r.owner
    ) {
      r.count++;
      return;
    }
    this.#openRun({
      kind: 'T',
      c,
      first: offset,
      count: 1,
      visibleAt: s.visibleAt,
      version: s.version,
      redeliveries: s.redeliveries,
      owner: s.owner,
    });
  }

  skip(c: QueueCursor, from: number, to: number): void {
    if (to <= from) return;
    c.skip(from, to);
    this.#write(`s,${this.#idOf(c)},${from},${to}`);
  }

  /** Finishes an offset. Consecutive finishes (acks in order) become one journal line. */
  finish(c: QueueCursor, offset: number): void {
    this.#settle(c, offset);
    c.finish(offset);
    const r = this.#run;
    if (r?.kind === 'F' && r.c === c && offset === r.first + r.count) {
      r.count++;
      return;
    }
    this.#openRun({
      kind: 'F',
      c,
      first: offset,
      count: 1,
      visibleAt: 0,
      version: 0,
      redeliveries: 0,
      owner: undefined,
    });
  }

  change(c: QueueCursor, offset: number, visibleAt: number, version: number): void {
    const s = c.inflight.get(offset);
    if (s === undefined) return;
    this.onSettle(s);
    s.visibleAt = visibleAt;
    s.version = version;
    this.#write(`c,${this.#idOf(c)},${offset},${visibleAt},${version}`);
  }

  release(c: QueueCursor, offset: number): void {
    this.#settle(c, offset);
    c.release(offset);
    this.#write(`r,${this.#idOf(c)},${offset}`);
  }

  /**
   * Writes pending journal lines, fsyncs them, and snapshots when the journal has grown; the
   * fsyncs and the snapshot's file write run off the event loop (a background service calls it).
   */
  async flush(): Promise<void> {
    this.#writePending();
    const fd = this.#fd;
    if (fd >= 0) await fdatasync(fd).catch((e: unknown) => this.#ignoreClosed(e, fd));
    if (this.#journalBytes >= SNAPSHOT_AFTER_BYTES && !this.#closed) {
      const { file, old } = this.#beginSnapshot();
      await writeFileAtomic(path.join(this.#dir, 'snapshot.json'), file);
      this.#dropJournals(old);
    }
  }

  /** Writes a snapshot of every cursor and starts a new journal (at open and close). */
  snapshot(): void {
    const { file, old } = this.#beginSnapshot();
    writeFileAtomicSync(path.join(this.#dir, 'snapshot.json'), file);
    this.#dropJournals(old);
  }

  /** A journal closed by close() while its fsync was on the way is not an error. */
  #ignoreClosed(e: unknown, fd: number): void {
    if (this.#fd === fd) throw e;
  }

  /** Switches to a new journal and serialises every cursor; the snapshot covers the old journals. */
  #beginSnapshot(): { file: string; old: number } {
    this.#writePending();
    const next = this.#journalNo + 1;
    this.#openJournal(next);
    const cursors: SnapshotCursor[] = [];
    for (const c of this.#cursors.values())
      cursors.push({
        no: c.no,
        key: c.key,
        ack: c.ackOffset,
        pop: c.popOffset,
        inflight: [...c.inflight].map(([o, s]) =>
          s.owner === undefined
            ? [o, s.visibleAt, s.version, s.redeliveries]
            : [o, s.visibleAt, s.version, s.redeliveries, s.owner],
        ),
        done: [...c.done],
        released: [...c.released],
      });
    const snap: Snapshot = { version: 1, nextJournal: next, cursors };
    return { file: JSON.stringify(snap), old: next };
  }

  #dropJournals(below: number): void {
    for (const f of this.#journals())
      if (f.no < below) fs.rmSync(path.join(this.#dir, f.name), { force: true });
  }

  close(): void {
    if (this.#closed) return;
    this.snapshot();
    this.#closed = true;
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
  }

  // ------------------------------------------------------------------ journal

  #openRun(run: Run): void {
    this.#idOf(run.c);
    this.#closeRun();
    this.#run = run;
    this.#scheduleWrite();
  }

  #closeRun(): void {
    const r = this.#run;
    if (r === undefined) return;
    this.#run = undefined;
    if (r.kind === 'F') {
      this.#pending.push(`F,${r.c.no},${r.first},${r.count}`);
      return;
    }
    const line = `T,${r.c.no},${r.first},${r.count},${r.visibleAt},${r.version},${r.redeliveries}`;
    this.#pending.push(r.owner === undefined ? line : `${line},${r.owner}`);
  }

  #idOf(c: QueueCursor): number {
    if (!this.#named.has(c)) {
      this.#closeRun();
      this.#named.add(c);
      const k = c.key;
      this.#pending.push('k' + JSON.stringify([c.no, k.group, k.client, k.topic, k.queueId, k.retryOf]));
    }
    return c.no;
  }

  #write(line: string): void {
    this.#closeRun();
    this.#pending.push(line);
    this.#scheduleWrite();
  }

  #scheduleWrite(): void {
    if (this.#closed) throw new MqgateError('MQ_ERR_BROKER_CLOSED', 'the consumer state is closed');
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      if (this.#closed) return;
      try {
        this.#writePending();
      } catch (err) {
        // the lines stay pending; the flush service tries again and reports there too
        this.#log.error({ err }, 'writing the consumer journal failed');
      }
    });
  }

  #writePending(): void {
    this.#closeRun();
    if (this.#pending.length === 0) return;
    // every line ends in ';': a line torn by a crash (even inside a number) is told apart
    const buf = Buffer.from(this.#pending.join(';\n') + ';\n');
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.#fd, buf, done);
    this.#pending = [];
    this.#journalBytes += buf.length;
  }

  #openJournal(no: number): void {
    const old = this.#fd;
    this.#journalNo = no;
    this.#fd = fs.openSync(path.join(this.#dir, `journal-${no}.log`), 'a');
    // the old journal's lines are on their way to disk; a snapshot covering them follows
    if (old >= 0) fs.close(old, () => {});
    fsyncDirSync(this.#dir);
    this.#journalBytes = 0;
    this.#named = new Set();
  }

  #journals(): { name: string; no: number }[] {
    return fs
      .readdirSync(this.#dir)
      .map((name) => ({ name, m: /^journal-(\d+)\.log$/.exec(name) }))
      .filter((f) => f.m !== null)
      .map((f) => ({ name: f.name, no: Number(f.m?.[1]) }))
      .sort((a, b) => a.no - b.no);
  }

  // ------------------------------------------------------------------ load

  #load(): void {
    const snap = readJsonFile(path.join(this.#dir, 'snapshot.json')) as Snapshot | undefined;
    let from = 0;
    if (snap !== undefined) {
      from = snap.nextJournal;
      for (const sc of snap.cursors) {
        const c = this.#add(new QueueCursor(sc.key, sc.ack, sc.no));
        c.popOffset = sc.pop;
        for (const [o, visibleAt, version, redeliveries, owner] of sc.inflight)
          c.inflight.set(o, { visibleAt, version, redeliveries, owner });
        for (const o of sc.done) c.done.add(o);
        c.released = [...sc.released];
      }
    }
    let last = from - 1;
    for (const f of this.#journals()) {
      if (f.no < from) continue;
      this.#replay(path.join(this.#dir, f.name));
      last = f.no;
    }
    this.#openJournal(last + 1);
    this.snapshot();
  }

  #replay(file: string): void {
    const ids = new Map<number, QueueCursor>();
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i];
      if (text === undefined || text.length === 0) continue;
      if (!this.#apply(text, ids))
        // only the last line can be torn by a crash; anything else is damage worth a word
        this.#log.warn(
          { file, line: i + 1, last: i >= lines.length - 2 },
          'consumer journal line unreadable, skipped',
        );
    }
  }

  /** Applies one journal line; false when it does not read. */
  #apply(line: string, ids: Map<number, QueueCursor>): boolean {
    if (!line.endsWith(';')) return false;
    const text = line.slice(0, -1);
    if (text.startsWith('k')) {
      let k: unknown;
      try {
        k = JSON.parse(text.slice(1));
      } catch {
        return false;
      }
      if (!Array.isArray(k) || k.length !== 6) return false;
      const [no, group, client, topic, queueId, retryOf] = k as [
        number,
        string,
        string,
        string,
        number,
        string,
      ];
      const key: CursorKey = { group, client, topic, queueId, retryOf };
      const c = this.#cursors.get(cursorId(key)) ?? this.#add(new QueueCursor(key, 0, no));
      ids.set(no, c);
      return true;
    }
    const f = text.split(',');
    const n = (i: number): number => Number(f[i]);
    const c = ids.get(n(1));
    if (c === undefined || f.slice(1, 6).some((x) => x === '' || !Number.isSafeInteger(Number(x))))
      return false;
    switch (f[0]) {
      case 'i':
        c.reset(n(2));
        return true;
      case 'T': {
        if (f.length < 7 || !Number.isSafeInteger(n(6))) return false;
        const owner = f[7];
        for (let i = 0; i < n(3); i++)
          c.take(n(2) + i, { visibleAt: n(4), version: n(5) + i, redeliveries: n(6), owner });
        return true;
      }
      case 's':
        c.skip(n(2), n(3));
        return true;
      case 'F':
        for (let i = 0; i < n(3); i++) c.finish(n(2) + i);
        return true;
      case 'c': {
        const s = c.inflight.get(n(2));
        if (s !== undefined) {
          s.visibleAt = n(3);
          s.version = n(4);
        }
        return true;
      }
      case 'r':
        c.release(n(2));
        return true;
      default:
        return false;
    }
  }
}
