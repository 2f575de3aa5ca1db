import fs from 'node:fs';
import path from 'node:path';
import { fsyncDirSync } from '../../store/fs-util.js';

/** What the core knows of one message it handed out over a backend's stream. */
export interface InflightRecord {
  version: number;
  /** Invisible until (ms since the epoch). */
  until: number;
  attempt: number;
  /** The consumer acked it; the broker's ack is still owed (it failed: the backend was down). */
  owed: boolean;
}

type Line = ['O', string, string, number, number, number] | ['D' | 'A', string, string];

/** Records older than this past their invisible time are forgotten at compaction. */
const FORGET_AFTER_MS = 24 * 3_600_000;
const COMPACT_AFTER_BYTES = 8 * 1024 * 1024;

/**
 * The in-flight state of the core's POP over broker streams, durable in the gateway's data
 * directory: a journal of JSON lines, written to the OS at the end of the event-loop turn that
 * made them (so a kill -9 loses none; a power cut can lose the last ones, which makes messages
 * come back early, never vanish). Compacted on open and when it grows.
 *
 * ```
 *   ["O", lane, msgId, version, until, attempt]   handed out, or given a new invisible time
 *   ["A", lane, msgId]                            acked by the consumer, the broker's ack owed
 *   ["D", lane, msgId]                            done: acked at the broker, retried or dead-lettered
 * ```
 */
export class PopJournal {
  readonly #file: string;
  readonly #lanes = new Map<string, Map<string, InflightRecord>>();
  #fd: number;
  #pending: string[] = [];
  #bytes = 0;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.#file = path.join(dir, 'pop-journal.jsonl');
    this.#load();
    this.#fd = this.#rewrite();
  }

  /** What is known of a lane (backend, group, topic), by msgId. */
  lane(lane: string): Map<string, InflightRecord> {
    let m = this.#lanes.get(lane);
    if (m === undefined) this.#lanes.set(lane, (m = new Map()));
    return m;
  }

  out(lane: string, msgId: string, version: number, until: number, attempt: number): void {
    this.lane(lane).set(msgId, { version, until, attempt, owed: false });
    this.#write(['O', lane, msgId, version, until, attempt]);
  }

  owed(lane: string, msgId: string): void {
    const r = this.lane(lane).get(msgId);
    if (r !== undefined) r.owed = true;
    this.#write(['A', lane, msgId]);
  }

  done(lane: string, msgId: string): void {
    if (this.lane(lane).delete(msgId)) this.#write(['D', lane, msgId]);
  }

  close(): void {
    this.#flush();
    fs.closeSync(this.#fd);
  }

  #write(line: Line): void {
    if (this.#pending.length === 0) queueMicrotask(() => this.#flush());
    this.#pending.push(`${JSON.stringify(line)}\n`);
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const text = this.#pending.join('');
    this.#pending = [];
    this.#bytes += fs.writeSync(this.#fd, text);
    if (this.#bytes > COMPACT_AFTER_BYTES) {
      fs.closeSync(this.#fd);
      this.#fd = this.#rewrite();
    }
  }

  #load(): void {
    let text: string;
    try {
      text = fs.readFileSync(this.#file, 'utf8');
    } catch {
      return;
    }
    for (const raw of text.split('\n')) {
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        continue; // a torn last line
      }
      const [op, lane, msgId] = line;
      if (op === 'O')
        this.lane(lane).set(msgId, { version: line[3], until: line[4], attempt: line[5], owed: false });
      else if (op === 'A') {
        const r = this.lane(lane).get(msgId);
        if (r !== undefined) r.owed = true;
      } else this.lane(lane).delete(msgId);
    }
  }

  /** Writes what is live to a fresh journal (write, fsync, rename) and opens it for appends. */
  #rewrite(): number {
    const now = Date.now();
    const lines: string[] = [];
    for (const [lane, m] of this.#lanes)
      for (const [msgId, r] of m) {
        if (!r.owed && r.until < now - FORGET_AFTER_MS) {
          m.delete(msgId);
          continue;
        }
        lines.push(JSON.stringify(['O', lane, msgId, r.version, r.until, r.attempt]));
        if (r.owed) lines.push(JSON.stringify(['A', lane, msgId]));
      }
    const tmp = `${this.#file}.tmp`;
    const text = lines.length === 0 ? '' : `${lines.join('\n')}\n`;
    const fd = fs.openSync(tmp, 'w');
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, this.#file);
    fsyncDirSync(path.dirname(this.#file));
    this.#bytes = Buffer.byteLength(text);
    return fs.openSync(this.#file, 'a');
  }
}
