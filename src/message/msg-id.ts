import { randomBytes } from 'node:crypto';

/**
 * Message ids: 16 bytes, shown as 32 upper-case hex characters (the shape of RocketMQ's
 * UNIQ_KEY, so ids coming from RocketMQ fit unchanged).
 *
 *   0        6        9               16
 *   +--------+--------+---------------+
 *   | ms (6) | seq (3)| process (7)   |
 *   +--------+--------+---------------+
 *
 * ms: Unix time in milliseconds when the id was made (ids sort by time);
 * seq: a per-process counter (monotonic order within one process and millisecond);
 * process: random bytes drawn once per process, so two gateways never collide.
 * The id is made at send time and travels with the message (migration keeps it): it is
 * never derived from a storage position.
 */
export const MSG_ID_BYTES = 16;

const processTag = randomBytes(7);
let seq = randomBytes(3).readUIntBE(0, 3);
let lastMs = 0;

export function newMsgIdBytes(now: number = Date.now()): Buffer {
  const out = Buffer.allocUnsafe(MSG_ID_BYTES);
  writeNewMsgId(out, 0, now);
  return out;
}

const PROCESS_HEX = processTag.toString('hex').toUpperCase();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));
let lastMsHex = '';

/** Writes a fresh id into `buf` at `offset` and returns its text, without hex-encoding bytes. */
export function writeNewMsgId(buf: Buffer, offset: number, now: number = Date.now()): string {
  seq = (seq + 1) & 0xffffff;
  // never step back in time within one process (clock adjustments)
  if (now > lastMs) {
    lastMs = now;
    lastMsHex = now.toString(16).toUpperCase().padStart(12, '0');
  } else if (seq === 0 || lastMsHex === '') {
    // the counter wrapped within one millisecond: take the next one so ids stay ordered
    if (seq === 0) lastMs++;
    lastMsHex = lastMs.toString(16).toUpperCase().padStart(12, '0');
  }
  const hi = Math.floor(lastMs / 0x1_0000_0000);
  const lo = lastMs >>> 0;
  buf[offset] = hi >>> 8;
  buf[offset + 1] = hi;
  buf[offset + 2] = lo >>> 24;
  buf[offset + 3] = lo >>> 16;
  buf[offset + 4] = lo >>> 8;
  buf[offset + 5] = lo;
  buf[offset + 6] = seq >>> 16;
  buf[offset + 7] = seq >>> 8;
  buf[offset + 8] = seq;
  for (let i = 0; i < 7; i++) buf[offset + 9 + i] = processTag[i] as number;
  return lastMsHex + HEX[seq >>> 16] + HEX[(seq >>> 8) & 0xff] + HEX[seq & 0xff] + PROCESS_HEX;
}

export function newMsgId(now?: number): string {
  return msgIdToString(newMsgIdBytes(now), 0);
}

/** The two hex digits of each byte value, as character codes: HEX_CODES[2b], HEX_CODES[2b + 1]. */
const HEX_CODES = Buffer.from(HEX.join(''), 'latin1');
const idText = Buffer.allocUnsafe(2 * MSG_ID_BYTES);

/**
 * The id's text: hex digits written into a scratch buffer and decoded once (about twice as fast
 * as joining 16 strings, and it runs for every message read).
 */
export function msgIdToString(buf: Uint8Array, offset = 0): string {
  for (let i = 0; i < MSG_ID_BYTES; i++) {
    const b = (buf[offset + i] as number) << 1;
    idText[2 * i] = HEX_CODES[b] as number;
    idText[2 * i + 1] = HEX_CODES[b + 1] as number;
  }
  return idText.toString('latin1', 0, 2 * MSG_ID_BYTES);
}

const HEX32 = /^[0-9a-fA-F]{32}$/;

/** 32 hex digits (either case). */
export function isMsgId(s: string): boolean {
  return typeof s === 'string' && HEX32.test(s);
}

/** Each hex digit's value by its character code (others: 0, the caller has checked the id). */
const HEX_VALUE = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
}

/**
 * Writes a textual id into `buf` (the caller has checked it with `isMsgId`) and returns it in
 * upper case: the same string when it is already. One loop over a table, which sees lower-case
 * digits on the way; Buffer's hex decoding is a call into C++ that took longer, and then a second
 * pass looked for lower case (a commit, a retry and a move each write a given id).
 */
export function writeMsgId(buf: Uint8Array, offset: number, id: string): string {
  let lower = false;
  for (let i = 0; i < MSG_ID_BYTES; i++) {
    const hi = id.charCodeAt(2 * i) & 127;
    const lo = id.charCodeAt(2 * i + 1) & 127;
    if (hi >= 0x61 || lo >= 0x61) lower = true;
    buf[offset + i] = ((HEX_VALUE[hi] as number) << 4) | (HEX_VALUE[lo] as number);
  }
  return lower ? id.toUpperCase() : id;
}

/**
 * The low 16 bits of the sequence number an id made by mqgate carries (characters 14-17): ids
 * made one after another differ there. Any other string gives some number in [0, 65535].
 */
export function msgIdSeqLow16(id: string): number {
  return (
    ((HEX_VALUE[id.charCodeAt(14) & 127] as number) << 12) |
    ((HEX_VALUE[id.charCodeAt(15) & 127] as number) << 8) |
    ((HEX_VALUE[id.charCodeAt(16) & 127] as number) << 4) |
    (HEX_VALUE[id.charCodeAt(17) & 127] as number)
  );
}

/** Milliseconds encoded in an id made by mqgate (ids from other systems give arbitrary values). */
export function msgIdTime(id: string): number {
  return Number.parseInt(id.slice(0, 12), 16);
}
