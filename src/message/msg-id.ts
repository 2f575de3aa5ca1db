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

export function msgIdToString(buf: Uint8Array, offset = 0): string {
  let s = '';
  for (let i = offset; i < offset + MSG_ID_BYTES; i++) s += HEX[buf[i] as number] as string;
  return s;
}

const HEX32 = /^[0-9a-fA-F]{32}$/;

export function isMsgId(s: string): boolean {
  return HEX32.test(s);
}

/** Writes a textual id into `buf`; the caller has checked it with `isMsgId`. */
export function writeMsgId(buf: Buffer, offset: number, id: string): void {
  buf.write(id, offset, MSG_ID_BYTES, 'hex');
}

/** Milliseconds encoded in an id made by mqgate (ids from other systems give arbitrary values). */
export function msgIdTime(id: string): number {
  return Number.parseInt(id.slice(0, 12), 16);
}
