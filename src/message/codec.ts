import { crc32 } from 'node:zlib';
import { bytesEqual, getU64, setU64, utf8Length, viewOf, writeUtf8 } from './bytes.js';
import { bytesHash } from './hash.js';
import { isMsgId, MSG_ID_BYTES, msgIdToString, writeMsgId, writeNewMsgId } from './msg-id.js';
import type { MessageInput, StoredMessage } from './message.js';
import { MultiDispatchProp, SysFlag, topicNameProblem } from './message.js';

/**
 * The binary record of one message in the CommitLog. Little-endian throughout.
 *
 *    0        4        8        12       16       20                28                36
 *    +--------+--------+--------+--------+--------+-----------------+-----------------+
 *    | total  | magic  | crc32  |queueId | flag   | queueOffset     | commitLogOffset |
 *    +--------+--------+--------+--------+--------+-----------------+-----------------+
 *   36        40                48                56       60                68
 *    +--------+-----------------+-----------------+--------+-----------------+
 *    |sysFlag | bornTimestamp   | storeTimestamp  |reconsum| preparedTxOffset|
 *    +--------+-----------------+-----------------+--------+-----------------+
 *   68                                    84
 *    +------------------------------------+
 *    | msgId (16 bytes)                   |
 *    +------------------------------------+
 *   84: u16 topicLen, topic | u16 tagLen, tag | u16 keyCount, (u16 len, key)* |
 *       u16 propsLen, (u16 klen, k, u16 vlen, v)* | u32 bodyLen, body
 *
 * `crc32` is the CRC-32 of the whole record computed with the crc32 field set to zero: it covers
 * every byte but itself, so a flipped bit anywhere, or a torn tail, is detected. A BLANK record (total, BLANK_MAGIC) pads the end of
 * a segment that the next record does not fit in; readers skip to the next segment.
 */
export const RECORD_MAGIC = 0x4d514731; // "MQG1"
export const BLANK_MAGIC = 0x4d514742; // "MQGB"
export const BLANK_SIZE = 8;
export const FIXED_PART = 84;
/** The smallest possible record: the fixed part and every variable length prefix. */
export const MIN_RECORD_SIZE = FIXED_PART + 2 + 2 + 2 + 2 + 4;

const OFF_TOTAL = 0;
const OFF_MAGIC = 4;
const OFF_CRC = 8;
const OFF_QUEUE_ID = 12;
const OFF_FLAG = 16;
const OFF_QUEUE_OFFSET = 20;
const OFF_PHYS_OFFSET = 28;
const OFF_SYS_FLAG = 36;
const OFF_BORN = 40;
const OFF_STORE = 48;
const OFF_RECONSUME = 56;
const OFF_PREPARED = 60;
/** Where the 16 id bytes sit in a record. */
export const OFF_MSG_ID = 68;

/** Combined limit for tag, keys and properties: RocketMQ caps properties below 32 KiB. */
export const MAX_PROPERTIES_BYTES = 32 * 1024 - 1;

export function readU64(buf: Buffer, off: number): number {
  return getU64(viewOf(buf), off);
}

export function writeU64(buf: Buffer, off: number, v: number): void {
  setU64(viewOf(buf), off, v);
}

/** Shared by every decoded message without properties (frozen: read-only for everyone). */
const NO_PROPERTIES: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * UTF-8 bytes of the names that repeat from record to record (topics, tags, property keys),
 * encoded once: measuring and writing a name costs a lookup and a byte copy instead of two
 * passes over its characters. Bounded; values (which mostly differ) are not kept.
 */
const names8 = new Map<string, Uint8Array>();
const MAX_NAME8 = 64;

function name8(s: string): Uint8Array | undefined {
  let e = names8.get(s);
  if (e === undefined) {
    if (s.length > MAX_NAME8) return undefined;
    if (names8.size >= 4096) names8.clear();
    e = new Uint8Array(Buffer.from(s, 'utf8'));
    names8.set(s, e);
  }
  return e;
}

/** UTF-8 length of a name (see name8). */
function nameLength(s: string): number {
  const e = name8(s);
  return e === undefined ? utf8Length(s) : e.length;
}

/** Topic names already checked (the check is a regex: keep it off the hot path). */
const validTopics = new Set<string>();

/** The sizes worked out once per message before it is written. */
export interface RecordPlan {
  readonly size: number;
  readonly bodyLen: number;
  readonly propsLen: number;
  /** The second queue's offset as written (`msg.dispatchAlso` set), else undefined. */
  readonly alsoOffset: string | undefined;
}

/**
 * The multi-dispatch properties up to the offset's value, as written for each second topic:
 * INNER_MULTI_DISPATCH, the topic, INNER_MULTI_QUEUE_OFFSET with their lengths. Copied as one
 * block (a commit writes one for every transaction): three names written byte by byte took
 * longer than the rest of the properties.
 */
const mdBlocks = new Map<string, Uint8Array>();

function mdBlock(topic: string): Uint8Array {
  let b = mdBlocks.get(topic);
  if (b === undefined) {
    const names = [MultiDispatchProp.TOPIC, topic, MultiDispatchProp.QUEUE_OFFSET].map((s) =>
      Buffer.from(s, 'utf8'),
    );
    const out = Buffer.alloc(names.reduce((n, x) => n + 2 + x.length, 0));
    let p = 0;
    for (const x of names) {
      out.writeUInt16LE(x.length, p);
      out.set(x, p + 2);
      p += 2 + x.length;
    }
    if (mdBlocks.size >= 1024) mdBlocks.clear();
    mdBlocks.set(topic, (b = new Uint8Array(out)));
  }
  return b;
}

export type PlanProblem = {
  readonly problem: 'MESSAGE_ILLEGAL' | 'PROPERTIES_SIZE_EXCEEDED';
  readonly reason: string;
};

function topicProblem(topic: string): string | undefined {
  if (validTopics.has(topic)) return undefined;
  const problem = topicNameProblem(topic);
  if (problem !== undefined) return problem;
  if (validTopics.size >= 10_000) validTopics.clear();
  validTopics.add(topic);
  return undefined;
}

/**
 * Checks a message against the limits and measures its record. `alsoQueueOffset` is the offset
 * the store assigned in the second queue of a message with `dispatchAlso`.
 */
export function planRecord(
  msg: MessageInput,
  maxBodySize: number,
  alsoQueueOffset = 0,
): RecordPlan | PlanProblem {
  const problem = topicProblem(msg.topic);
  if (problem !== undefined) return { problem: 'MESSAGE_ILLEGAL', reason: problem };
  if (!Number.isInteger(msg.queueId) || msg.queueId < 0 || msg.queueId > 0x7fffffff)
    return { problem: 'MESSAGE_ILLEGAL', reason: `queueId ${msg.queueId} is not a non-negative integer` };
  if (msg.msgIdFrom !== undefined) {
    if (msg.msgIdFrom.byteLength < OFF_MSG_ID + MSG_ID_BYTES)
      return { problem: 'MESSAGE_ILLEGAL', reason: 'msgIdFrom is shorter than a record header' };
  } else if (msg.msgId !== undefined && !isMsgId(msg.msgId))
    return { problem: 'MESSAGE_ILLEGAL', reason: `msgId "${msg.msgId}" is not 32 hex characters` };
  const bodyLen = typeof msg.body === 'string' ? Buffer.byteLength(msg.body) : msg.body.byteLength;
  if (bodyLen > maxBodySize)
    return {
      problem: 'MESSAGE_ILLEGAL',
      reason: `the body has ${bodyLen} bytes, more than maxMessageSize (${maxBodySize} bytes)`,
    };
  let meta = nameLength(msg.topic) + 2 + 2 + 2 + 2;
  if (msg.tag !== undefined) meta += nameLength(msg.tag);
  if (msg.keys !== undefined) {
    if (msg.keys.length > 0xffff) return { problem: 'PROPERTIES_SIZE_EXCEEDED', reason: 'too many keys' };
    for (const k of msg.keys) meta += 2 + utf8Length(k);
  }
  let propsLen = 0;
  if (msg.properties !== undefined) {
    for (const k in msg.properties) {
      propsLen += 4 + nameLength(k) + utf8Length(msg.properties[k] as string);
    }
  }
  let alsoOffset: string | undefined;
  if (msg.dispatchAlso !== undefined) {
    const alsoProblem = topicProblem(msg.dispatchAlso);
    if (alsoProblem !== undefined) return { problem: 'MESSAGE_ILLEGAL', reason: alsoProblem };
    alsoOffset = String(alsoQueueOffset);
    propsLen += mdBlock(msg.dispatchAlso).length + 2 + alsoOffset.length;
  }
  if (meta + propsLen > MAX_PROPERTIES_BYTES)
    return {
      problem: 'PROPERTIES_SIZE_EXCEEDED',
      reason: `tag, keys and properties take ${meta + propsLen} bytes, at most ${MAX_PROPERTIES_BYTES} are allowed`,
    };
  return { size: FIXED_PART + meta + propsLen + 4 + bodyLen, bodyLen, propsLen, alsoOffset };
}

export function isPlanProblem(p: RecordPlan | PlanProblem): p is PlanProblem {
  return (p as PlanProblem).problem !== undefined;
}

/** What the store decides at append time. */
export interface RecordPlacement {
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly storeTimestamp: number;
}

/**
 * Copies a short run of bytes (a cached name or block) to `p`, four at a time: about
 * twice as fast as byte by byte, and faster than a native copy at these lengths.
 */
function copyRun(buf: Uint8Array, dv: DataView, p: number, src: Uint8Array): void {
  const n = src.length;
  let i = 0;
  for (; i + 4 <= n; i += 4)
    dv.setUint32(
      p + i,
      (src[i] as number) |
        ((src[i + 1] as number) << 8) |
        ((src[i + 2] as number) << 16) |
        ((src[i + 3] as number) << 24),
      true,
    );
  for (; i < n; i++) buf[p + i] = src[i] as number;
}

/** Writes a name (see name8) with its u16 length; returns the offset after it. */
function writeName16(buf: Buffer, dv: DataView, off: number, s: string): number {
  const e = name8(s);
  if (e === undefined) return writeStr16(buf, dv, off, s);
  const n = e.length;
  dv.setUint16(off, n, true);
  copyRun(buf, dv, off + 2, e);
  return off + 2 + n;
}

function writeStr16(buf: Buffer, dv: DataView, off: number, s: string): number {
  const n = writeUtf8(buf, off + 2, s);
  dv.setUint16(off, n, true);
  return off + 2 + n;
}

/**
 * Writes the record at `off` (the caller made room for `plan.size` bytes) and returns the
 * message id it carries (the given one, or a fresh one). With `withCrc` false the crc32 field
 * is left zero for the caller to fill in (the store's writer thread does).
 */
export function writeRecord(
  buf: Buffer,
  off: number,
  msg: MessageInput,
  plan: RecordPlan,
  at: RecordPlacement,
  withCrc = true,
  dv: DataView = viewOf(buf),
): string {
  dv.setUint32(off + OFF_TOTAL, plan.size, true);
  dv.setUint32(off + OFF_MAGIC, RECORD_MAGIC, true);
  dv.setUint32(off + OFF_CRC, 0, true);
  dv.setUint32(off + OFF_QUEUE_ID, msg.queueId, true);
  dv.setUint32(off + OFF_FLAG, (msg.flag ?? 0) >>> 0, true);
  setU64(dv, off + OFF_QUEUE_OFFSET, at.queueOffset);
  setU64(dv, off + OFF_PHYS_OFFSET, at.commitLogOffset);
  dv.setUint32(off + OFF_SYS_FLAG, recordSysFlag(msg, plan), true);
  setU64(dv, off + OFF_BORN, msg.bornTimestamp ?? at.storeTimestamp);
  setU64(dv, off + OFF_STORE, at.storeTimestamp);
  dv.setUint32(off + OFF_RECONSUME, (msg.reconsumeTimes ?? 0) >>> 0, true);
  setU64(dv, off + OFF_PREPARED, msg.preparedTransactionOffset ?? 0);
  let msgId: string;
  const from = msg.msgIdFrom;
  if (from !== undefined) {
    for (let i = 0; i < MSG_ID_BYTES; i++) buf[off + OFF_MSG_ID + i] = from[OFF_MSG_ID + i] as number;
    msgId = msg.msgId ?? msgIdToString(from, OFF_MSG_ID);
  } else if (msg.msgId !== undefined) {
    msgId = writeMsgId(buf, off + OFF_MSG_ID, msg.msgId);
  } else msgId = writeNewMsgId(buf, off + OFF_MSG_ID, at.storeTimestamp);
  let p = writeName16(buf, dv, off + FIXED_PART, msg.topic);
  p = writeName16(buf, dv, p, msg.tag ?? '');
  const keys = msg.keys ?? [];
  dv.setUint16(p, keys.length, true);
  p += 2;
  for (const k of keys) p = writeStr16(buf, dv, p, k);
  dv.setUint16(p, plan.propsLen, true);
  p += 2;
  if (msg.properties !== undefined) {
    for (const k in msg.properties) {
      p = writeName16(buf, dv, p, k);
      p = writeStr16(buf, dv, p, msg.properties[k] as string);
    }
  }
  if (plan.alsoOffset !== undefined) {
    const block = mdBlock(msg.dispatchAlso as string);
    copyRun(buf, dv, p, block);
    p += block.length;
    p = writeStr16(buf, dv, p, plan.alsoOffset);
  }
  dv.setUint32(p, plan.bodyLen, true);
  p += 4;
  copyBody(buf, p, msg.body, plan.bodyLen);
  if (withCrc) dv.setUint32(off + OFF_CRC, crc32(buf.subarray(off, off + plan.size)), true);
  return msgId;
}

/** The sysFlag a record carries: the message's, with MULTI_DISPATCH set by the store alone. */
export function recordSysFlag(msg: MessageInput, plan: RecordPlan): number {
  const flag = ((msg.sysFlag ?? 0) & ~SysFlag.MULTI_DISPATCH) >>> 0;
  return plan.alsoOffset === undefined ? flag : (flag | SysFlag.MULTI_DISPATCH) >>> 0;
}

/**
 * Copies a body into `buf` at `p`. Into shared memory (the store's chunks) V8's `set` copies
 * byte by byte when the offsets are not aligned, about ten times slower than a memcpy (0.45 µs
 * of a 1 KiB append's ~3 µs); Buffer's `fill` with a buffer as large as the range is one native
 * copy. Into ordinary memory `set` is the faster one.
 */
function copyBody(buf: Buffer, p: number, body: Uint8Array | string, len: number): void {
  if (typeof body === 'string') buf.write(body, p, len, 'utf8');
  else if (body.byteLength >= 64 && buf.buffer instanceof SharedArrayBuffer)
    buf.fill(body, p, p + body.byteLength);
  else buf.set(body, p);
}

/** Writes the padding marker that fills a segment's end. */
export function writeBlank(buf: Buffer, off: number, size: number): void {
  const dv = viewOf(buf);
  dv.setUint32(off + OFF_TOTAL, size, true);
  dv.setUint32(off + OFF_MAGIC, BLANK_MAGIC, true);
}

/** The outcome of looking at the bytes at one position. */
export type RecordCheck =
  | { readonly kind: 'record'; readonly size: number }
  | { readonly kind: 'blank'; readonly size: number }
  /** Fewer bytes are available than the record needs; `need` is how many (at least 8). */
  | { readonly kind: 'short'; readonly need: number }
  | { readonly kind: 'corrupt'; readonly reason: string; readonly size?: number };

/**
 * Checks the record at `off` in `buf[off, end)`: magic, length and CRC. It never throws and
 * never reads outside `[off, end)`. `crcChecked` skips the CRC, for a record whose CRC the
 * store's read thread has checked in these very bytes.
 */
export function checkRecord(
  buf: Buffer,
  off: number,
  end: number,
  maxRecordSize: number,
  crcChecked = false,
): RecordCheck {
  const dv = viewOf(buf);
  if (end - off < BLANK_SIZE) return { kind: 'short', need: BLANK_SIZE };
  const size = dv.getUint32(off + OFF_TOTAL, true);
  const magic = dv.getUint32(off + OFF_MAGIC, true);
  if (magic === BLANK_MAGIC) {
    if (size < BLANK_SIZE) return { kind: 'corrupt', reason: `blank marker with length ${size}` };
    return { kind: 'blank', size };
  }
  if (magic !== RECORD_MAGIC) return { kind: 'corrupt', reason: `bad magic 0x${magic.toString(16)}` };
  if (size < MIN_RECORD_SIZE || size > maxRecordSize)
    return { kind: 'corrupt', reason: `record length ${size} out of bounds` };
  if (end - off < size) return { kind: 'short', need: size };
  if (!crcChecked && recordCrc(buf, off, size) !== dv.getUint32(off + OFF_CRC, true))
    return { kind: 'corrupt', reason: 'CRC mismatch', size };
  if (!fieldsFit(buf, off, size)) return { kind: 'corrupt', reason: 'field lengths do not add up', size };
  return { kind: 'record', size };
}

/** The CRC of a record as written: computed with its crc32 field zeroed (restored after). */
function recordCrc(buf: Buffer, off: number, size: number): number {
  const dv = viewOf(buf);
  const stored = dv.getUint32(off + OFF_CRC, true);
  dv.setUint32(off + OFF_CRC, 0, true);
  const crc = crc32(buf.subarray(off, off + size));
  dv.setUint32(off + OFF_CRC, stored, true);
  return crc;
}

/** Walks the variable part and checks every length stays inside the record. */
function fieldsFit(buf: Buffer, off: number, size: number): boolean {
  const dv = viewOf(buf);
  const end = off + size;
  let p = off + FIXED_PART;
  // topic, tag
  for (let i = 0; i < 2; i++) {
    if (p + 2 > end) return false;
    p += 2 + dv.getUint16(p, true);
  }
  if (p + 2 > end) return false;
  const keyCount = dv.getUint16(p, true);
  p += 2;
  for (let i = 0; i < keyCount; i++) {
    if (p + 2 > end) return false;
    p += 2 + dv.getUint16(p, true);
  }
  if (p + 2 > end) return false;
  const propsEnd = p + 2 + dv.getUint16(p, true);
  p += 2;
  if (propsEnd > end) return false;
  // key and value pairs: an odd string out would make the decoder read past the properties
  while (p < propsEnd) {
    for (let i = 0; i < 2; i++) {
      if (p + 2 > propsEnd) return false;
      p += 2 + dv.getUint16(p, true);
    }
  }
  if (p !== propsEnd || p + 4 > end) return false;
  return p + 4 + dv.getUint32(p, true) === end;
}

/** The fields the dispatcher needs to build ConsumeQueue and KeyIndex entries. */
export interface DispatchInfo {
  readonly commitLogOffset: number;
  readonly size: number;
  readonly topic: string;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly tag: string | undefined;
  readonly keys: readonly string[];
  readonly msgId: string;
  /** `bytesHash` of the id's 16 bytes: the KeyIndex slot hash. */
  readonly msgIdHash: number;
  readonly storeTimestamp: number;
  readonly sysFlag: number;
  /** The topic of the record's second queue entry (queue 0; SysFlag.MULTI_DISPATCH), if any. */
  readonly alsoTopic: string | undefined;
  /** That entry's queue offset. */
  readonly alsoQueueOffset: number;
}

function readStr16(buf: Buffer, p: number): string {
  const n = (buf[p] as number) | ((buf[p + 1] as number) << 8);
  return readUtf8(buf, p + 2, p + 2 + n);
}

/**
 * Bytes [start, end) as UTF-8 text. Short ASCII strings (keys) are built directly: cheaper than
 * a call into Buffer's decoder, which costs more than the decoding itself at this length.
 */
function readUtf8(buf: Buffer, start: number, end: number): string {
  if (end - start > 24) return buf.toString('utf8', start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c >= 0x80) return buf.toString('utf8', start, end);
    s += String.fromCharCode(c);
  }
  return s;
}

/** Topic and tag names repeat: decode each distinct one once. */
const names = new Map<number, NameEntry[]>();
let namesCount = 0;
/** The names found last (at most RECENT_NAMES): consecutive records mostly carry the same topic and tag. */
const recentNames: NameEntry[] = [];
const RECENT_NAMES = 4;
let nextRecent = 0;

interface NameEntry {
  readonly bytes: Buffer;
  readonly text: string;
}

function readName(buf: Buffer, start: number, len: number): string {
  if (len > 64) return buf.toString('utf8', start, start + len);
  for (let i = 0; i < recentNames.length; i++) {
    const e = recentNames[i] as NameEntry;
    if (bytesEqual(buf, start, start + len, e.bytes)) return e.text;
  }
  const e = lookUpName(buf, start, len);
  recentNames[nextRecent] = e;
  nextRecent = (nextRecent + 1) % RECENT_NAMES;
  return e.text;
}

function lookUpName(buf: Buffer, start: number, len: number): NameEntry {
  const h = bytesHash(buf, start, len);
  const bucket = names.get(h);
  if (bucket !== undefined)
    for (const e of bucket) if (bytesEqual(buf, start, start + len, e.bytes)) return e;
  const text = buf.toString('utf8', start, start + len);
  if (namesCount >= 4096) {
    names.clear();
    namesCount = 0;
  }
  const entry = { bytes: Buffer.from(buf.subarray(start, start + len)), text };
  if (bucket === undefined) names.set(h, [entry]);
  else bucket.push(entry);
  namesCount++;
  return entry;
}

/** The body of a record already checked with `checkRecord`: a view into `buf` (no copy). */
export function recordBody(buf: Buffer, off: number): Buffer {
  const p = bodyLengthAt(buf, off);
  return buf.subarray(p + 4, p + 4 + u32At(buf, p));
}

/**
 * `recordBody` as a plain Uint8Array: made without Buffer's subarray, which goes through the
 * species constructor (a commit takes its half message's body this way, each transaction).
 */
export function recordBodyView(buf: Uint8Array, off: number): Uint8Array {
  const p = bodyLengthAt(buf, off);
  return new Uint8Array(buf.buffer, buf.byteOffset + p + 4, u32At(buf, p));
}

/** Where the body's length field of the record at `off` is. */
function bodyLengthAt(buf: Uint8Array, off: number): number {
  // byte reads, not viewOf: a view made for this one buffer would push out the cached ones
  let p = off + FIXED_PART;
  p += 2 + u16At(buf, p); // topic
  p += 2 + u16At(buf, p); // tag
  const keyCount = u16At(buf, p);
  p += 2;
  for (let i = 0; i < keyCount; i++) p += 2 + u16At(buf, p);
  p += 2 + u16At(buf, p); // properties
  return p;
}

function u32At(buf: Uint8Array, at: number): number {
  return (u16At(buf, at) | (u16At(buf, at + 2) << 16)) >>> 0;
}

function u16At(buf: Uint8Array, at: number): number {
  return (buf[at] as number) | ((buf[at + 1] as number) << 8);
}

/** Reads the dispatch fields of a record already checked with `checkRecord`. */
export function readDispatchInfo(buf: Buffer, off: number, size: number): DispatchInfo {
  const dv = viewOf(buf);
  let p = off + FIXED_PART;
  const topic = readName(buf, p + 2, dv.getUint16(p, true));
  p += 2 + dv.getUint16(p, true);
  const tagLen = dv.getUint16(p, true);
  const tag = tagLen === 0 ? undefined : readName(buf, p + 2, tagLen);
  p += 2 + tagLen;
  const keyCount = dv.getUint16(p, true);
  p += 2;
  const keys: string[] = keyCount === 0 ? NO_KEYS : [];
  for (let i = 0; i < keyCount; i++) {
    keys.push(readStr16(buf, p));
    p += 2 + dv.getUint16(p, true);
  }
  const sysFlag = dv.getUint32(off + OFF_SYS_FLAG, true);
  let alsoTopic: string | undefined;
  let alsoQueueOffset = 0;
  if ((sysFlag & SysFlag.MULTI_DISPATCH) !== 0) {
    // the store writes its two properties last: the last of each name counts, as in decodeRecord
    const propsEnd = p + 2 + dv.getUint16(p, true);
    for (p += 2; p < propsEnd;) {
      const k = readStr16(buf, p);
      p += 2 + dv.getUint16(p, true);
      if (k === MultiDispatchProp.TOPIC) alsoTopic = readName(buf, p + 2, dv.getUint16(p, true));
      else if (k === MultiDispatchProp.QUEUE_OFFSET) alsoQueueOffset = Number(readStr16(buf, p));
      p += 2 + dv.getUint16(p, true);
    }
    if (!Number.isSafeInteger(alsoQueueOffset) || alsoQueueOffset < 0) alsoTopic = undefined;
  }
  return {
    commitLogOffset: getU64(dv, off + OFF_PHYS_OFFSET),
    size,
    topic,
    queueId: dv.getUint32(off + OFF_QUEUE_ID, true),
    queueOffset: getU64(dv, off + OFF_QUEUE_OFFSET),
    tag,
    keys,
    msgId: msgIdToString(buf, off + OFF_MSG_ID),
    msgIdHash: bytesHash(buf, off + OFF_MSG_ID, MSG_ID_BYTES),
    storeTimestamp: getU64(dv, off + OFF_STORE),
    sysFlag,
    alsoTopic,
    alsoQueueOffset,
  };
}

/**
 * Decodes a record already checked with `checkRecord`. The body is a view into `buf` (no
 * copy): copy it if `buf` is reused.
 */
/** The keys of every message without keys (frozen: one array, never written). */
const NO_KEYS = Object.freeze([]) as unknown as string[];

export function decodeRecord(buf: Buffer, off: number, size: number): StoredMessage {
  const dv = viewOf(buf);
  let p = off + FIXED_PART;
  const topicLen = dv.getUint16(p, true);
  const topic = readName(buf, p + 2, topicLen);
  p += 2 + topicLen;
  const tagLen = dv.getUint16(p, true);
  const tag = tagLen === 0 ? undefined : readName(buf, p + 2, tagLen);
  p += 2 + tagLen;
  const keyCount = dv.getUint16(p, true);
  p += 2;
  const keys: string[] = keyCount === 0 ? NO_KEYS : [];
  for (let i = 0; i < keyCount; i++) {
    keys.push(readStr16(buf, p));
    p += 2 + dv.getUint16(p, true);
  }
  const propsEnd = p + 2 + dv.getUint16(p, true);
  p += 2;
  let properties: Record<string, string> = NO_PROPERTIES;
  if (p < propsEnd) {
    // pairs, not `obj[k] = v`: assigning a key named "__proto__" would drop it
    const pairs: [string, string][] = [];
    while (p < propsEnd) {
      const k = readStr16(buf, p);
      p += 2 + dv.getUint16(p, true);
      pairs.push([k, readStr16(buf, p)]);
      p += 2 + dv.getUint16(p, true);
    }
    properties = Object.fromEntries(pairs);
  }
  const bodyLen = dv.getUint32(p, true);
  return {
    msgId: msgIdToString(buf, off + OFF_MSG_ID),
    topic,
    queueId: dv.getUint32(off + OFF_QUEUE_ID, true),
    queueOffset: getU64(dv, off + OFF_QUEUE_OFFSET),
    commitLogOffset: getU64(dv, off + OFF_PHYS_OFFSET),
    storeSize: size,
    tag,
    keys,
    properties,
    body: buf.subarray(p + 4, p + 4 + bodyLen),
    bornTimestamp: getU64(dv, off + OFF_BORN),
    storeTimestamp: getU64(dv, off + OFF_STORE),
    flag: dv.getUint32(off + OFF_FLAG, true),
    sysFlag: dv.getUint32(off + OFF_SYS_FLAG, true),
    reconsumeTimes: dv.getUint32(off + OFF_RECONSUME, true),
    preparedTransactionOffset: getU64(dv, off + OFF_PREPARED),
  };
}

/** Encodes one message on its own, for tests and tools (the store writes in place instead). */
export function encodeMessage(
  msg: MessageInput,
  at: RecordPlacement,
  maxBodySize = 4 * 1024 * 1024,
  alsoQueueOffset = 0,
): Buffer {
  const plan = planRecord(msg, maxBodySize, alsoQueueOffset);
  if (isPlanProblem(plan)) throw new RangeError(plan.reason);
  const buf = Buffer.allocUnsafe(plan.size);
  writeRecord(buf, 0, msg, plan, at);
  return buf;
}

export { MSG_ID_BYTES };
