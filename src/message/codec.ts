import { crc32 } from 'node:zlib';
import { isMsgId, MSG_ID_BYTES, msgIdToString, writeMsgId, writeNewMsgId } from './msg-id.js';
import type { MessageInput, StoredMessage } from './message.js';
import { topicNameProblem } from './message.js';

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
 * `crc32` covers bytes [0, 8) and [12, total): every byte of the record but itself, so a flipped
 * bit anywhere, or a torn tail, is detected. A BLANK record (total, BLANK_MAGIC) pads the end of
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
const OFF_MSG_ID = 68;

/** Combined limit for tag, keys and properties: RocketMQ caps properties below 32 KiB. */
export const MAX_PROPERTIES_BYTES = 32 * 1024 - 1;

export function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * 0x1_0000_0000;
}

export function writeU64(buf: Buffer, off: number, v: number): void {
  const lo = v >>> 0;
  buf.writeUInt32LE(lo, off);
  buf.writeUInt32LE((v - lo) / 0x1_0000_0000, off + 4);
}

/** The sizes worked out once per message before it is written. */
export interface RecordPlan {
  readonly size: number;
  readonly bodyLen: number;
  readonly propsLen: number;
}

export type PlanProblem = {
  readonly problem: 'MESSAGE_ILLEGAL' | 'PROPERTIES_SIZE_EXCEEDED';
  readonly reason: string;
};

/** Checks a message against the limits and measures its record. */
export function planRecord(msg: MessageInput, maxBodySize: number): RecordPlan | PlanProblem {
  const topicProblem = topicNameProblem(msg.topic);
  if (topicProblem !== undefined) return { problem: 'MESSAGE_ILLEGAL', reason: topicProblem };
  if (!Number.isInteger(msg.queueId) || msg.queueId < 0 || msg.queueId > 0x7fffffff)
    return { problem: 'MESSAGE_ILLEGAL', reason: `queueId ${msg.queueId} is not a non-negative integer` };
  if (msg.msgId !== undefined && !isMsgId(msg.msgId))
    return { problem: 'MESSAGE_ILLEGAL', reason: `msgId "${msg.msgId}" is not 32 hex characters` };
  const bodyLen = msg.body.byteLength;
  if (bodyLen > maxBodySize)
    return {
      problem: 'MESSAGE_ILLEGAL',
      reason: `the body has ${bodyLen} bytes, more than maxMessageSize (${maxBodySize} bytes)`,
    };
  let meta = Buffer.byteLength(msg.topic) + 2 + 2 + 2 + 2;
  if (msg.tag !== undefined) meta += Buffer.byteLength(msg.tag);
  if (msg.keys !== undefined) {
    if (msg.keys.length > 0xffff) return { problem: 'PROPERTIES_SIZE_EXCEEDED', reason: 'too many keys' };
    for (const k of msg.keys) meta += 2 + Buffer.byteLength(k);
  }
  let propsLen = 0;
  if (msg.properties !== undefined) {
    for (const k in msg.properties) {
      propsLen += 4 + Buffer.byteLength(k) + Buffer.byteLength(msg.properties[k] as string);
    }
  }
  if (meta + propsLen > MAX_PROPERTIES_BYTES)
    return {
      problem: 'PROPERTIES_SIZE_EXCEEDED',
      reason: `tag, keys and properties take ${meta + propsLen} bytes, at most ${MAX_PROPERTIES_BYTES} are allowed`,
    };
  return { size: FIXED_PART + meta + propsLen + 4 + bodyLen, bodyLen, propsLen };
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

function writeStr16(buf: Buffer, off: number, s: string): number {
  const n = buf.write(s, off + 2, 'utf8');
  buf.writeUInt16LE(n, off);
  return off + 2 + n;
}

/**
 * Writes the record at `off` (the caller made room for `plan.size` bytes) and returns the
 * message id it carries (the given one, or a fresh one).
 */
export function writeRecord(
  buf: Buffer,
  off: number,
  msg: MessageInput,
  plan: RecordPlan,
  at: RecordPlacement,
): string {
  buf.writeUInt32LE(plan.size, off + OFF_TOTAL);
  buf.writeUInt32LE(RECORD_MAGIC, off + OFF_MAGIC);
  buf.writeUInt32LE(msg.queueId, off + OFF_QUEUE_ID);
  buf.writeUInt32LE((msg.flag ?? 0) >>> 0, off + OFF_FLAG);
  writeU64(buf, off + OFF_QUEUE_OFFSET, at.queueOffset);
  writeU64(buf, off + OFF_PHYS_OFFSET, at.commitLogOffset);
  buf.writeUInt32LE((msg.sysFlag ?? 0) >>> 0, off + OFF_SYS_FLAG);
  writeU64(buf, off + OFF_BORN, msg.bornTimestamp ?? at.storeTimestamp);
  writeU64(buf, off + OFF_STORE, at.storeTimestamp);
  buf.writeUInt32LE((msg.reconsumeTimes ?? 0) >>> 0, off + OFF_RECONSUME);
  writeU64(buf, off + OFF_PREPARED, msg.preparedTransactionOffset ?? 0);
  if (msg.msgId !== undefined) writeMsgId(buf, off + OFF_MSG_ID, msg.msgId);
  else writeNewMsgId(buf, off + OFF_MSG_ID, at.storeTimestamp);
  let p = writeStr16(buf, off + FIXED_PART, msg.topic);
  p = writeStr16(buf, p, msg.tag ?? '');
  const keys = msg.keys ?? [];
  buf.writeUInt16LE(keys.length, p);
  p += 2;
  for (const k of keys) p = writeStr16(buf, p, k);
  buf.writeUInt16LE(plan.propsLen, p);
  p += 2;
  if (msg.properties !== undefined) {
    for (const k in msg.properties) {
      p = writeStr16(buf, p, k);
      p = writeStr16(buf, p, msg.properties[k] as string);
    }
  }
  buf.writeUInt32LE(plan.bodyLen, p);
  p += 4;
  buf.set(msg.body, p);
  const crc = crc32(
    buf.subarray(off + OFF_CRC + 4, off + plan.size),
    crc32(buf.subarray(off, off + OFF_CRC)),
  );
  buf.writeUInt32LE(crc, off + OFF_CRC);
  return msgIdToString(buf, off + OFF_MSG_ID);
}

/** Writes the padding marker that fills a segment's end. */
export function writeBlank(buf: Buffer, off: number, size: number): void {
  buf.writeUInt32LE(size, off + OFF_TOTAL);
  buf.writeUInt32LE(BLANK_MAGIC, off + OFF_MAGIC);
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
 * never reads outside `[off, end)`.
 */
export function checkRecord(buf: Buffer, off: number, end: number, maxRecordSize: number): RecordCheck {
  if (end - off < BLANK_SIZE) return { kind: 'short', need: BLANK_SIZE };
  const size = buf.readUInt32LE(off + OFF_TOTAL);
  const magic = buf.readUInt32LE(off + OFF_MAGIC);
  if (magic === BLANK_MAGIC) {
    if (size < BLANK_SIZE) return { kind: 'corrupt', reason: `blank marker with length ${size}` };
    return { kind: 'blank', size };
  }
  if (magic !== RECORD_MAGIC) return { kind: 'corrupt', reason: `bad magic 0x${magic.toString(16)}` };
  if (size < MIN_RECORD_SIZE || size > maxRecordSize)
    return { kind: 'corrupt', reason: `record length ${size} out of bounds` };
  if (end - off < size) return { kind: 'short', need: size };
  const crc = crc32(buf.subarray(off + OFF_CRC + 4, off + size), crc32(buf.subarray(off, off + OFF_CRC)));
  if (crc !== buf.readUInt32LE(off + OFF_CRC)) return { kind: 'corrupt', reason: 'CRC mismatch', size };
  if (!fieldsFit(buf, off, size)) return { kind: 'corrupt', reason: 'field lengths do not add up', size };
  return { kind: 'record', size };
}

/** Walks the variable part and checks every length stays inside the record. */
function fieldsFit(buf: Buffer, off: number, size: number): boolean {
  const end = off + size;
  let p = off + FIXED_PART;
  const skip16 = (): boolean => {
    if (p + 2 > end) return false;
    p += 2 + buf.readUInt16LE(p);
    return p <= end;
  };
  if (!skip16() || !skip16()) return false; // topic, tag
  if (p + 2 > end) return false;
  const keyCount = buf.readUInt16LE(p);
  p += 2;
  for (let i = 0; i < keyCount; i++) if (!skip16()) return false;
  if (p + 2 > end) return false;
  const propsEnd = p + 2 + buf.readUInt16LE(p);
  p += 2;
  if (propsEnd > end) return false;
  while (p < propsEnd) if (!skip16() || !skip16() || p > propsEnd) return false;
  if (p !== propsEnd || p + 4 > end) return false;
  return p + 4 + buf.readUInt32LE(p) === end;
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
  readonly storeTimestamp: number;
  readonly sysFlag: number;
}

function readStr16(buf: Buffer, p: number): string {
  const n = buf.readUInt16LE(p);
  return buf.toString('utf8', p + 2, p + 2 + n);
}

/** Reads the dispatch fields of a record already checked with `checkRecord`. */
export function readDispatchInfo(buf: Buffer, off: number, size: number): DispatchInfo {
  let p = off + FIXED_PART;
  const topic = readStr16(buf, p);
  p += 2 + buf.readUInt16LE(p);
  const tagLen = buf.readUInt16LE(p);
  const tag = tagLen === 0 ? undefined : buf.toString('utf8', p + 2, p + 2 + tagLen);
  p += 2 + tagLen;
  const keyCount = buf.readUInt16LE(p);
  p += 2;
  const keys: string[] = [];
  for (let i = 0; i < keyCount; i++) {
    keys.push(readStr16(buf, p));
    p += 2 + buf.readUInt16LE(p);
  }
  return {
    commitLogOffset: readU64(buf, off + OFF_PHYS_OFFSET),
    size,
    topic,
    queueId: buf.readUInt32LE(off + OFF_QUEUE_ID),
    queueOffset: readU64(buf, off + OFF_QUEUE_OFFSET),
    tag,
    keys,
    msgId: msgIdToString(buf, off + OFF_MSG_ID),
    storeTimestamp: readU64(buf, off + OFF_STORE),
    sysFlag: buf.readUInt32LE(off + OFF_SYS_FLAG),
  };
}

/**
 * Decodes a record already checked with `checkRecord`. The body is a view into `buf` (no
 * copy): copy it if `buf` is reused.
 */
export function decodeRecord(buf: Buffer, off: number, size: number): StoredMessage {
  const d = readDispatchInfo(buf, off, size);
  let p = off + FIXED_PART;
  p += 2 + buf.readUInt16LE(p); // topic
  p += 2 + buf.readUInt16LE(p); // tag
  const keyCount = buf.readUInt16LE(p);
  p += 2;
  for (let i = 0; i < keyCount; i++) p += 2 + buf.readUInt16LE(p);
  const propsEnd = p + 2 + buf.readUInt16LE(p);
  p += 2;
  const properties: Record<string, string> = {};
  while (p < propsEnd) {
    const k = readStr16(buf, p);
    p += 2 + buf.readUInt16LE(p);
    properties[k] = readStr16(buf, p);
    p += 2 + buf.readUInt16LE(p);
  }
  const bodyLen = buf.readUInt32LE(p);
  const body = buf.subarray(p + 4, p + 4 + bodyLen);
  return {
    msgId: d.msgId,
    topic: d.topic,
    queueId: d.queueId,
    queueOffset: d.queueOffset,
    commitLogOffset: d.commitLogOffset,
    storeSize: size,
    tag: d.tag,
    keys: d.keys,
    properties,
    body,
    bornTimestamp: readU64(buf, off + OFF_BORN),
    storeTimestamp: d.storeTimestamp,
    flag: buf.readUInt32LE(off + OFF_FLAG),
    sysFlag: d.sysFlag,
    reconsumeTimes: buf.readUInt32LE(off + OFF_RECONSUME),
    preparedTransactionOffset: readU64(buf, off + OFF_PREPARED),
  };
}

/** Encodes one message on its own, for tests and tools (the store writes in place instead). */
export function encodeMessage(msg: MessageInput, at: RecordPlacement, maxBodySize = 4 * 1024 * 1024): Buffer {
  const plan = planRecord(msg, maxBodySize);
  if (isPlanProblem(plan)) throw new RangeError(plan.reason);
  const buf = Buffer.allocUnsafe(plan.size);
  writeRecord(buf, 0, msg, plan, at);
  return buf;
}

export { MSG_ID_BYTES };
