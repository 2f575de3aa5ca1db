import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { MqgateError } from '../../errors.js';
import { fsyncDirSync } from '../../store/fs-util.js';
import { readJsonFile, writeJsonFile } from '../json-file.js';
import type { CursorKey, Inflight } from './queue-cursor.js';
import { QueueCursor, cursorId } from './queue-cursor.js';

/**
 * The consumer side's durable state: every {@link QueueCursor} (committed offsets, messages in
 * flight with their invisible times, out-of-order acks), kept in memory and made durable as a
 * snapshot plus a journal of the changes since.
 *
 * Journal lines are JSON arrays, written to the OS at the end of the event-loop turn that made
 * them (so they survive kill -9 of the process, as ASYNC_FLUSH does) and fsynced by `flush()`.
 * A line lost to a power cut can only make a message come back (at-least-once), never vanish:
 * every change that finishes a message is journaled after the change that handed it out.
 *
 * ```
 *   ["k", id, group, client, topic, queueId, retryOf]   names a cursor for the lines below
 *   ["i", id, offset]                           cursor (re)starts at offset
 *   ["t", id, offset, visibleAt, version, redeliveries, owner?]   handed out
 *   ["s", id, from, to]                         [from, to) skipped, except what is in flight
 *   ["f", id, offset]                           finished
 *   ["c", id, offset, visibleAt, version]       invisible time changed
 *   ["r", id, offset]                           released, to be handed out again
 * ```
 * Snapshot `snapshot.json` holds `nextJournal`: it includes every journal numbered below it;
 * loading replays the journals from there on, in order.
 */
type Line =
  | ['k', number, string, string, string, number, string]
  | ['i', number, number]
  | ['t', number, number, number, number, number, string?]
  | ['s', number, number, number]
  | ['f', number, number]
  | ['c', number, number, number, number]
  | ['r', number, number];

interface SnapshotCursor {
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
  readonly nextVersion: number;
  readonly cursors: SnapshotCursor[];
}

/** Journal size that triggers a new snapshot. */
const SNAPSHOT_AFTER_BYTES = 8 * 1024 * 1024;

export class ConsumerState {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #cursors = new Map<string, QueueCursor>();
  /** Journal ids of the cursors named in the current journal file. */
  #ids = new Map<QueueCursor, number>();
  #nextVersion = 1;
  #journalNo = 0;
  #fd = -1;
  #journalBytes = 0;
  #pending: string[] = [];
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

  all(): IterableIterator<QueueCursor> {
    return this.#cursors.values();
  }

  /** A fresh version for a hand-out or a change of invisible time. */
  nextVersion(): number {
    return this.#nextVersion++;
  }

  /** Creates or moves a cursor to `offset` (a new group's start, a commit or a reset). */
  init(key: CursorKey, offset: number): QueueCursor {
    const id = cursorId(key);
    let c = this.#cursors.get(id);
    if (c === undefined) this.#cursors.set(id, (c = new QueueCursor(key, offset)));
    else c.reset(offset);
    this.#write(['i', this.#idOf(c), offset]);
    return c;
  }

  take(c: QueueCursor, offset: number, s: Inflight): void {
    c.take(offset, s);
    const line: Line = ['t', this.#idOf(c), offset, s.visibleAt, s.version, s.redeliveries];
    if (s.owner !== undefined) line.push(s.owner);
    this.#write(line);
  }

  skip(c: QueueCursor, from: number, to: number): void {
    if (to <= from) return;
    c.skip(from, to);
    this.#write(['s', this.#idOf(c), from, to]);
  }

  finish(c: QueueCursor, offset: number): void {
    c.finish(offset);
    this.#write(['f', this.#idOf(c), offset]);
  }

  change(c: QueueCursor, offset: number, visibleAt: number, version: number): void {
    const s = c.inflight.get(offset);
    if (s === undefined) return;
    s.visibleAt = visibleAt;
    s.version = version;
    this.#write(['c', this.#idOf(c), offset, visibleAt, version]);
  }

  release(c: QueueCursor, offset: number): void {
    c.release(offset);
    this.#write(['r', this.#idOf(c), offset]);
  }

  /** Writes pending journal lines, fsyncs them, and snapshots when the journal has grown. */
  flush(): void {
    this.#writePending();
    if (this.#fd >= 0) fs.fdatasyncSync(this.#fd);
    if (this.#journalBytes >= SNAPSHOT_AFTER_BYTES) this.snapshot();
  }

  /** Writes a snapshot of every cursor and starts a new journal. */
  snapshot(): void {
    this.#writePending();
    const next = this.#journalNo + 1;
    this.#openJournal(next);
    const cursors: SnapshotCursor[] = [];
    for (const c of this.#cursors.values())
      cursors.push({
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
    const snap: Snapshot = { version: 1, nextJournal: next, nextVersion: this.#nextVersion, cursors };
    writeJsonFile(path.join(this.#dir, 'snapshot.json'), snap);
    for (const f of this.#journals())
      if (f.no < next) fs.rmSync(path.join(this.#dir, f.name), { force: true });
  }

  close(): void {
    if (this.#closed) return;
    this.snapshot();
    this.#closed = true;
    if (this.#fd >= 0) fs.closeSync(this.#fd);
    this.#fd = -1;
  }

  // ------------------------------------------------------------------ journal

  #idOf(c: QueueCursor): number {
    let id = this.#ids.get(c);
    if (id === undefined) {
      id = this.#ids.size;
      this.#ids.set(c, id);
      const k = c.key;
      this.#pending.push(JSON.stringify(['k', id, k.group, k.client, k.topic, k.queueId, k.retryOf]));
    }
    return id;
  }

  #write(line: Line): void {
    if (this.#closed) throw new MqgateError('MQ_ERR_BROKER_CLOSED', 'the consumer state is closed');
    this.#pending.push(JSON.stringify(line));
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
    if (this.#pending.length === 0) return;
    const buf = Buffer.from(this.#pending.join('\n') + '\n');
    let done = 0;
    while (done < buf.length) done += fs.writeSync(this.#fd, buf, done);
    this.#pending = [];
    this.#journalBytes += buf.length;
  }

  #openJournal(no: number): void {
    if (this.#fd >= 0) {
      fs.fdatasyncSync(this.#fd);
      fs.closeSync(this.#fd);
    }
    this.#journalNo = no;
    this.#fd = fs.openSync(path.join(this.#dir, `journal-${no}.log`), 'a');
    fsyncDirSync(this.#dir);
    this.#journalBytes = 0;
    this.#ids = new Map();
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
      this.#nextVersion = snap.nextVersion;
      for (const sc of snap.cursors) {
        const c = new QueueCursor(sc.key, sc.ack);
        c.popOffset = sc.pop;
        for (const [o, visibleAt, version, redeliveries, owner] of sc.inflight)
          c.inflight.set(o, { visibleAt, version, redeliveries, owner });
        for (const o of sc.done) c.done.add(o);
        c.released = [...sc.released];
        this.#cursors.set(c.id, c);
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
      let line: Line;
      try {
        line = JSON.parse(text) as Line;
      } catch {
        // Only the last line can be torn by a crash; anything else is damage worth a word.
        if (i < lines.length - 2)
          this.#log.warn({ file, line: i + 1 }, 'consumer journal line unreadable, skipped');
        continue;
      }
      if (line[0] === 'k') {
        const key: CursorKey = {
          group: line[2],
          client: line[3],
          topic: line[4],
          queueId: line[5],
          retryOf: line[6],
        };
        const id = cursorId(key);
        let c = this.#cursors.get(id);
        if (c === undefined) this.#cursors.set(id, (c = new QueueCursor(key, 0)));
        ids.set(line[1], c);
        continue;
      }
      const c = ids.get(line[1]);
      if (c === undefined) continue;
      switch (line[0]) {
        case 'i':
          c.reset(line[2]);
          break;
        case 't':
          c.take(line[2], { visibleAt: line[3], version: line[4], redeliveries: line[5], owner: line[6] });
          if (line[4] >= this.#nextVersion) this.#nextVersion = line[4] + 1;
          break;
        case 's':
          c.skip(line[2], line[3]);
          break;
        case 'f':
          c.finish(line[2]);
          break;
        case 'c': {
          const s = c.inflight.get(line[2]);
          if (s !== undefined) {
            s.visibleAt = line[3];
            s.version = line[4];
          }
          if (line[4] >= this.#nextVersion) this.#nextVersion = line[4] + 1;
          break;
        }
        case 'r':
          c.release(line[2]);
          break;
      }
    }
  }
}
