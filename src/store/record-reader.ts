import { getI64, getU64 } from '../message/bytes.js';
import {
  BLANK_MAGIC,
  BLANK_SIZE,
  MIN_RECORD_SIZE,
  RECORD_MAGIC,
  checkRecord,
  decodeRecord,
  readU64,
} from '../message/codec.js';
import type { StoredMessage } from '../message/message.js';
import { MultiDispatchProp, SysFlag } from '../message/message.js';
import type { CommitLog } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { ConsumeQueue } from './consume-queue.js';
import { CQ_ENTRY_SIZE } from './consume-queue.js';
import { isErrno } from './fs-util.js';
import type { CheckedSpan } from './read-thread.js';
import { isVerified, ReadThread } from './read-thread.js';
import type { CorruptRecord, GetMessageResult, GetMessageStatus } from './status.js';

/** A consumer's filter: a cheap pre-check on the tags code, then a check of the message. */
export interface MessageFilter {
  /** False skips the entry without reading its record (tag hash, delivery time). */
  matchTagsCode?(tagsCode: number): boolean;
  /** Final check on the decoded message (tag string: hashes collide; SQL92 over properties). */
  matchMessage?(msg: StoredMessage): boolean;
}

/** Entries scanned at most by one read when a filter skips them (RocketMQ: 16000). */
const MAX_SCAN = 16_000;
const CQ_BATCH = 1024;
/** A read of the log fetches at least this much, for the pulls that follow. */
const READ_AHEAD = 1024 * 1024;
const MAX_SPANS = 8;
const STORE_TIMESTAMP_END = 56;

/** Bytes of the log read lately: `buf` holds [start, start + buf.length). */
/** Offsets of the records in a buffer of records written by this process (from its memory). */
function recordStarts(buf: Buffer): Int32Array {
  const starts: number[] = [];
  for (let o = 0; o + 8 <= buf.length;) {
    const size = buf.readUInt32LE(o);
    if (buf.readUInt32LE(o + 4) !== RECORD_MAGIC || size < MIN_RECORD_SIZE || o + size > buf.length) break;
    starts.push(o);
    o += size;
  }
  return Int32Array.from(starts);
}

interface Span {
  readonly start: number;
  readonly buf: Buffer;
  /** Offsets in `buf` of records whose CRC the read thread found right (ascending). */
  readonly verified: Int32Array;
  /** Where the record after the last whole one in `buf` starts: the next span, read in order. */
  readonly next: number;
  /** Read ahead and not used yet: its first use reads the span after it. */
  ahead: boolean;
}

/** A read under way: it will hold [start, start + length). */
interface PendingSpan {
  readonly start: number;
  readonly length: number;
  readonly done: Promise<Span | undefined>;
}

/**
 * Whether a record belongs at this queue entry: it is the record's own, or the record's second
 * entry (multi-dispatch: the record keeps its own topic; the reader knows which queue it read).
 */
function belongsAt(m: StoredMessage, topic: string, queueId: number, queueOffset: number): boolean {
  if (m.topic === topic && m.queueId === queueId && m.queueOffset === queueOffset) return true;
  return (
    (m.sysFlag & SysFlag.MULTI_DISPATCH) !== 0 &&
    queueId === 0 &&
    m.properties[MultiDispatchProp.TOPIC] === topic &&
    m.properties[MultiDispatchProp.QUEUE_OFFSET] === String(queueOffset)
  );
}

/** Reads records through ConsumeQueue entries or direct CommitLog offsets, checking each one. */
export class RecordReader {
  readonly #log: CommitLog;
  readonly #cqs: ConsumeQueueTable;
  readonly #maxRecordSize: number;
  /**
   * Spans of the log read lately, newest last. Consumers of a topic's queues move through the
   * same stretch of the log at about the same pace: one read ahead serves the pulls of every
   * queue whose records lie in it. Records never change once written, so a span stays valid;
   * spans are never reused, so decoded bodies are views into them (a message kept by a consumer
   * keeps its span's memory until it is dropped; a consumer must not write into a body).
   */
  readonly #spans: Span[] = [];
  /** Reads under way: a pull needing bytes one of them will hold waits for it instead of reading again. */
  readonly #reading: PendingSpan[] = [];
  /** Reads and CRC-checks spans off the main thread. */
  readonly #thread = new ReadThread();

  constructor(log: CommitLog, cqs: ConsumeQueueTable, maxRecordSize: number) {
    this.#log = log;
    this.#cqs = cqs;
    this.#maxRecordSize = maxRecordSize;
  }

  /** Starts the read thread ahead of the first read (see ReadThread.start). */
  warm(): void {
    this.#thread.start();
  }

  async getMessages(
    topic: string,
    queueId: number,
    offset: number,
    maxMessages: number,
    opts: { filter?: MessageFilter; maxBytes?: number } = {},
  ): Promise<GetMessageResult> {
    const cq = this.#cqs.get(topic, queueId);
    const result = (
      status: GetMessageStatus,
      nextBeginOffset: number,
      messages: StoredMessage[] = [],
      corrupted: CorruptRecord[] = [],
    ): GetMessageResult => ({
      status,
      messages,
      nextBeginOffset,
      minOffset: cq?.minOffset ?? 0,
      maxOffset: cq?.maxOffset ?? 0,
      corrupted,
    });
    if (cq === undefined) return result('NO_MATCHED_LOGIC_QUEUE', 0);
    const min = cq.minOffset;
    const max = cq.maxOffset;
    if (max === 0) return result('NO_MESSAGE_IN_QUEUE', 0);
    if (offset < min) return result('OFFSET_TOO_SMALL', min);
    if (offset === max) return result('OFFSET_OVERFLOW_ONE', offset);
    if (offset > max) return result('OFFSET_OVERFLOW_BADLY', max);

    return this.#scan(cq, topic, queueId, offset, maxMessages, opts, result);
  }

  /** The kept span holding [offset, offset + len), newest first. */
  #cached(offset: number, len: number): Span | undefined {
    for (let i = this.#spans.length - 1; i >= 0; i--) {
      const s = this.#spans[i] as Span;
      if (offset >= s.start && offset + len <= s.start + s.buf.length) return s;
    }
    return undefined;
  }

  /**
   * A span holding [offset, offset + len): one being read already (by another pull, or ahead),
   * else a new read of READ_AHEAD bytes. Reaching a span read ahead, or reading on from where a
   * kept span ends, starts reading the span after it: one span ahead of the pulls, no more.
   */
  async #load(offset: number, len: number): Promise<Span | undefined> {
    // just written and still in memory: no read, and no CRC to check (it never left memory)
    const recent = this.#log.recent(offset, len);
    if (recent !== undefined)
      return this.#keep(offset, { buf: recent, verified: recordStarts(recent) }, len, false);
    for (const p of this.#reading) {
      if (offset < p.start || offset + len > p.start + p.length) continue;
      const s = await p.done;
      if (s === undefined || offset + len > s.start + s.buf.length) break;
      return s;
    }
    // just past a kept span: read on from its end (a record boundary), as the other pulls will
    let from = -1;
    for (const k of this.#spans)
      if (
        k.next > from &&
        k.next <= offset &&
        k.next > k.start &&
        offset + len <= Math.min(k.next + READ_AHEAD, this.#log.nextSegmentStart(k.next))
      )
        from = k.next;
    if (from >= 0 && from < offset) {
      const s = await this.#read(from, offset + len - from, false);
      if (s !== undefined && offset + len <= s.start + s.buf.length) {
        this.#readAhead(s);
        return s;
      }
    }
    const s = await this.#read(offset, len, false);
    if (s !== undefined && from === offset) this.#readAhead(s);
    return s;
  }

  /** Reads a span at `offset` (a record boundary) through the read thread; it is kept once read. */
  #read(offset: number, len: number, ahead: boolean): Promise<Span | undefined> {
    const length = Math.min(
      Math.max(len, READ_AHEAD),
      this.#log.writeEnd - offset,
      this.#log.nextSegmentStart(offset) - offset,
    );
    const at = this.#log.locate(offset, length);
    if (at === undefined) return Promise.resolve(undefined);
    const pending: PendingSpan = {
      start: offset,
      length,
      done: this.#thread.read(at.fd, at.position, length, this.#maxRecordSize).then(
        (checked) => this.#keep(offset, checked, len, ahead),
        (e: unknown) => {
          if (isErrno(e, 'EBADF')) return undefined; // removed by retention meanwhile
          throw e;
        },
      ),
    };
    this.#reading.push(pending);
    const forget = (): void => {
      const i = this.#reading.indexOf(pending);
      if (i >= 0) this.#reading.splice(i, 1);
    };
    pending.done.then(forget, forget);
    return pending.done;
  }

  /** Keeps a span read at `offset` (newest last, at most MAX_SPANS). */
  #keep(offset: number, checked: CheckedSpan, len: number, ahead: boolean): Span | undefined {
    const { buf, verified } = checked;
    if (buf.length < len) return undefined;
    const last = verified.length === 0 ? -1 : (verified[verified.length - 1] as number);
    let next = last < 0 ? offset : offset + last + buf.readUInt32LE(last);
    if (next + BLANK_SIZE <= offset + buf.length && buf.readUInt32LE(next - offset + 4) === BLANK_MAGIC)
      next = this.#log.nextSegmentStart(offset);
    const span: Span = { start: offset, buf, verified, next, ahead };
    this.#spans.push(span);
    if (this.#spans.length > MAX_SPANS) this.#spans.shift();
    return span;
  }

  /** Starts reading the span after `s`, unless it is kept or being read. */
  #readAhead(s: Span): void {
    const next = s.next;
    if (next <= s.start || next >= this.#log.writeEnd) return;
    // kept already: a span holding at least the whole record at `next`
    if (this.#spans.some((k) => k.start <= next && k.next > next)) return;
    if (this.#reading.some((p) => next >= p.start && next < p.start + p.length)) return;
    // a read ahead that fails is tried again by the pull that needs it
    this.#read(next, 1, true).catch(() => undefined);
  }

  async #scan(
    cq: ConsumeQueue,
    topic: string,
    queueId: number,
    offset: number,
    maxMessages: number,
    opts: { filter?: MessageFilter; maxBytes?: number },
    result: (s: GetMessageStatus, n: number, m?: StoredMessage[], c?: CorruptRecord[]) => GetMessageResult,
  ): Promise<GetMessageResult> {
    const max = cq.maxOffset;
    const filter = opts.filter;
    const maxBytes = opts.maxBytes ?? Number.MAX_SAFE_INTEGER;
    const messages: StoredMessage[] = [];
    const corrupted: CorruptRecord[] = [];
    let bytes = 0;
    let next = offset;
    let lost = 0;
    const scanEnd = Math.min(max, offset + Math.max(MAX_SCAN, maxMessages));
    while (next < scanEnd && messages.length < maxMessages && bytes < maxBytes) {
      const { buf, count } = await cq.read(next, Math.min(CQ_BATCH, scanEnd - next));
      if (count === 0) break;
      const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      let consumed = next;
      for (let i = 0; i < count && messages.length < maxMessages; i++) {
        const queueOffset = next + i;
        consumed = queueOffset + 1;
        const at = getU64(dv, i * CQ_ENTRY_SIZE);
        const size = dv.getUint32(i * CQ_ENTRY_SIZE + 8, true);
        if (size === 0) {
          corrupted.push({ commitLogOffset: at, queueOffset, reason: 'record lost' });
          continue;
        }
        if (at < this.#log.minOffset) {
          lost++;
          continue;
        }
        if (filter?.matchTagsCode !== undefined && !filter.matchTagsCode(getI64(dv, i * CQ_ENTRY_SIZE + 12)))
          continue;
        const span = this.#cached(at, size) ?? (await this.#load(at, size));
        if (span?.ahead === true) {
          span.ahead = false;
          this.#readAhead(span);
        }
        const m = span === undefined ? undefined : this.#decodeAt(span, at - span.start, size);
        if (m === undefined || !belongsAt(m, topic, queueId, queueOffset)) {
          corrupted.push({
            commitLogOffset: at,
            queueOffset,
            reason: m === undefined ? 'record failed its checks' : 'record does not match its queue entry',
          });
          continue;
        }
        if (filter?.matchMessage !== undefined && !filter.matchMessage(m)) continue;
        if (messages.length > 0 && bytes + m.storeSize > maxBytes) {
          consumed = queueOffset; // not taken: the next read starts here
          bytes = maxBytes;
          break;
        }
        messages.push(m);
        bytes += m.storeSize;
      }
      next = consumed;
    }
    if (messages.length > 0) return result('FOUND', next, messages, corrupted);
    if (corrupted.length > 0 || lost > 0) return result('OFFSET_FOUND_NULL', next, messages, corrupted);
    return result('NO_MATCHED_MESSAGE', next, messages, corrupted);
  }

  /** Decodes the record at `off` in the span if it passes its checks (its CRC already checked by the read thread, or here). */
  #decodeAt(span: Span, off: number, size: number): StoredMessage | undefined {
    const crcChecked = isVerified(span.verified, off);
    const c = checkRecord(span.buf, off, off + size, this.#maxRecordSize, crcChecked);
    if (c.kind !== 'record' || c.size !== size) return undefined;
    return decodeRecord(span.buf, off, c.size);
  }

  /** Stops the read thread. */
  close(): Promise<void> {
    this.#spans.length = 0;
    this.#reading.length = 0;
    return this.#thread.close();
  }

  /** The intact record at `offset` (its size read from the record when not given). */
  async readAt(offset: number, size?: number): Promise<StoredMessage | undefined> {
    let len = size;
    if (len === undefined) {
      const head = await this.#log.read(offset, 8);
      if (head === undefined) return undefined;
      len = head.readUInt32LE(0);
      if (len > this.#maxRecordSize) return undefined;
    }
    const buf = await this.#log.read(offset, len);
    if (buf === undefined) return undefined;
    const c = checkRecord(buf, 0, len, this.#maxRecordSize);
    if (c.kind !== 'record') return undefined;
    const m = decodeRecord(buf, 0, c.size);
    return m.commitLogOffset === offset ? m : undefined;
  }

  async offsetByTime(topic: string, queueId: number, timestamp: number): Promise<number> {
    const cq = this.#cqs.get(topic, queueId);
    if (cq === undefined) return 0;
    let lo = cq.minOffset;
    let hi = cq.maxOffset;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const e = await cq.entryAt(mid);
      const head =
        e === undefined || e.size === 0
          ? undefined
          : await this.#log.read(e.commitLogOffset, STORE_TIMESTAMP_END);
      const stored = head === undefined ? 0 : readU64(head, 48);
      if (stored < timestamp) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
