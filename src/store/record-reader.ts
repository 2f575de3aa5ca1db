import { checkRecord, decodeRecord, readU64 } from '../message/codec.js';
import type { StoredMessage } from '../message/message.js';
import type { CommitLog } from './commit-log.js';
import type { ConsumeQueueTable } from './consume-queue-table.js';
import type { ConsumeQueue, CqEntry } from './consume-queue.js';
import { readCqEntry } from './consume-queue.js';
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
/** A read covers records at most this far apart and this long, so it never loads a segment. */
const MAX_GAP = 64 * 1024;
const MAX_READ = 1024 * 1024;
/** A read of the log fetches at least this much, for the pulls that follow. */
const READ_AHEAD = 1024 * 1024;
const MAX_SPANS = 8;
const STORE_TIMESTAMP_END = 56;

interface Candidate {
  readonly queueOffset: number;
  readonly entry: CqEntry;
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
   * keeps its span's memory until it is dropped).
   */
  readonly #spans: { start: number; buf: Buffer }[] = [];

  constructor(log: CommitLog, cqs: ConsumeQueueTable, maxRecordSize: number) {
    this.#log = log;
    this.#cqs = cqs;
    this.#maxRecordSize = maxRecordSize;
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

  /** Bytes [offset, offset + len) of the log, from a recent span or read ahead into a new one. */
  async #span(offset: number, len: number): Promise<{ buf: Buffer; at: number } | undefined> {
    for (let i = this.#spans.length - 1; i >= 0; i--) {
      const s = this.#spans[i] as { start: number; buf: Buffer };
      if (offset >= s.start && offset + len <= s.start + s.buf.length)
        return { buf: s.buf, at: offset - s.start };
    }
    const ahead = Math.min(
      Math.max(len, READ_AHEAD),
      this.#log.writeEnd - offset,
      this.#log.nextSegmentStart(offset) - offset,
    );
    const buf = await this.#log.read(offset, ahead);
    if (buf === undefined) return undefined;
    this.#spans.push({ start: offset, buf });
    if (this.#spans.length > MAX_SPANS) this.#spans.shift();
    return { buf, at: 0 };
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
      const candidates: Candidate[] = [];
      let i = 0;
      for (; i < count && candidates.length < maxMessages - messages.length; i++) {
        const entry = readCqEntry(buf, i);
        if (entry.size === 0) {
          corrupted.push({
            commitLogOffset: entry.commitLogOffset,
            queueOffset: next + i,
            reason: 'record lost',
          });
          continue;
        }
        if (entry.commitLogOffset < this.#log.minOffset) {
          lost++;
          continue;
        }
        if (filter?.matchTagsCode !== undefined && !filter.matchTagsCode(entry.tagsCode)) continue;
        candidates.push({ queueOffset: next + i, entry });
      }
      let consumed = next + i;
      reading: for (const group of groupReads(candidates, this.#log.segmentSize)) {
        const first = (group[0] as Candidate).entry.commitLogOffset;
        const last = group.at(-1) as Candidate;
        const span = await this.#span(first, last.entry.commitLogOffset + last.entry.size - first);
        for (const c of group) {
          const m =
            span === undefined
              ? undefined
              : this.#decodeAt(span.buf, span.at + c.entry.commitLogOffset - first, c.entry);
          if (
            m === undefined ||
            m.topic !== topic ||
            m.queueId !== queueId ||
            m.queueOffset !== c.queueOffset
          ) {
            corrupted.push({
              commitLogOffset: c.entry.commitLogOffset,
              queueOffset: c.queueOffset,
              reason: m === undefined ? 'record failed its checks' : 'record does not match its queue entry',
            });
            continue;
          }
          if (filter?.matchMessage !== undefined && !filter.matchMessage(m)) continue;
          if (messages.length > 0 && bytes + m.storeSize > maxBytes) {
            consumed = c.queueOffset; // not taken: the next read starts here
            bytes = maxBytes;
            break reading;
          }
          messages.push(m);
          bytes += m.storeSize;
        }
      }
      next = consumed;
    }
    if (messages.length > 0) return result('FOUND', next, messages, corrupted);
    if (corrupted.length > 0 || lost > 0) return result('OFFSET_FOUND_NULL', next, messages, corrupted);
    return result('NO_MATCHED_MESSAGE', next, messages, corrupted);
  }

  #decodeAt(buf: Buffer, off: number, entry: CqEntry): StoredMessage | undefined {
    const c = checkRecord(buf, off, off + entry.size, this.#maxRecordSize);
    if (c.kind !== 'record' || c.size !== entry.size) return undefined;
    return decodeRecord(buf, off, c.size);
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

/** Groups records lying close together in one segment so each group is one read. */
function* groupReads(cands: readonly Candidate[], segmentSize: number): Generator<Candidate[]> {
  let group: Candidate[] = [];
  let start = 0;
  let end = 0;
  for (const c of cands) {
    const o = c.entry.commitLogOffset;
    const sameSeg = Math.floor(o / segmentSize) === Math.floor(start / segmentSize);
    if (
      group.length > 0 &&
      (!sameSeg || o - end > MAX_GAP || o < end || o + c.entry.size - start > MAX_READ)
    ) {
      yield group;
      group = [];
    }
    if (group.length === 0) start = o;
    group.push(c);
    end = o + c.entry.size;
  }
  if (group.length > 0) yield group;
}
