import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MqgateError } from '../../errors.js';
import { writeFileAtomicSync } from '../../store/fs-util.js';

/** What a receipt handle points at: one hand-out of one offset of one queue cursor. */
export interface HandleData {
  /** The cursor's number (see `QueueCursor.no`): names group, client, topic and queue. */
  readonly cursor: number;
  readonly offset: number;
  /** The hand-out: random, kept with the message in flight (see {@link randomVersion}). */
  readonly version: number;
}

/**
 * Receipt handles: opaque to consumers, bound (through their cursor) to the group and topic they
 * were handed out for, and tamper-evident in two layers:
 *
 * - each names one hand-out by its `version`, a random 48-bit number the broker keeps with the
 *   message in flight; a handle is honoured only when it matches, so a handle cannot be guessed
 *   or edited into one for another message (1 in 2^48), and a change of invisible time or a
 *   redelivery makes the old one stop working;
 * - a 30-bit keyed checksum (seeded from a key kept in the data directory, so handles stay
 *   valid across a restart) tells a damaged or edited handle (`INVALID`) from a stale one
 *   (`EXPIRED`). It is not a cryptographic MAC — the version check is what guards — and it
 *   costs a fraction of a microsecond, where an HMAC per message cost more than the rest of a
 *   delivery.
 */
export class ReceiptHandles {
  readonly #seedA: number;
  readonly #seedB: number;

  constructor(configDir: string) {
    const file = path.join(configDir, 'receipt.key');
    let key: Buffer | undefined;
    try {
      key = fs.readFileSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (key === undefined || key.length < 32) {
      key = crypto.randomBytes(32);
      writeFileAtomicSync(file, key);
      fs.chmodSync(file, 0o600);
    }
    this.#seedA = key.readUInt32LE(0) ^ 0x811c9dc5;
    this.#seedB = key.readUInt32LE(4) ^ 0x01000193;
  }

  /**
   * `cursor.offset.versionHigh.versionLow.checksum`: five decimal numbers, each (but a large
   * offset) small enough for V8's fast number-to-text path; made and read without a loop over
   * characters.
   */
  encode(d: HandleData): string {
    return this.encodeParts(d.cursor, d.offset, d.version);
  }

  /** {@link encode} of the three numbers, for callers that keep no HandleData object. */
  encodeParts(cursor: number, offset: number, version: number): string {
    const hi = Math.floor(version / VERSION_LOW);
    const lo = version % VERSION_LOW;
    // written as digits into a scratch buffer: one string per handle, where a template made
    // four number strings and a chain of concatenations (about 300 B of garbage a delivery)
    let at = putDecimal(0, cursor);
    TEXT[at++] = DOT;
    at = putDecimal(at, offset);
    TEXT[at++] = DOT;
    at = putDecimal(at, hi);
    TEXT[at++] = DOT;
    at = putDecimal(at, lo);
    TEXT[at++] = DOT;
    at = putDecimal(at, this.#sum(cursor, offset, hi, lo));
    return TEXT.toString('latin1', 0, at);
  }

  /**
   * Checks a handle's form and checksum; which group and topic it belongs to, and whether it
   * still names a message in flight, are the caller's checks (through the cursor).
   *
   * @throws MqgateError `MQ_ERR_RECEIPT_INVALID` when malformed or edited
   */
  decode(handle: unknown): HandleData {
    if (typeof handle !== 'string' || handle.length === 0 || handle.length > 120)
      throw new MqgateError(
        'MQ_ERR_RECEIPT_INVALID',
        'a receipt handle is a non-empty string from a receive',
      );
    const parts = handle.split('.');
    if (parts.length === 5) {
      const cursor = toCount(parts[0]);
      const offset = toCount(parts[1]);
      const hi = toCount(parts[2]);
      const lo = toCount(parts[3]);
      if (
        toCount(parts[4]) === this.#sum(cursor, offset, hi, lo) &&
        cursor >= 0 &&
        offset >= 0 &&
        hi >= 0 &&
        lo >= 0
      )
        return { cursor, offset, version: hi * VERSION_LOW + lo };
    }
    throw new MqgateError('MQ_ERR_RECEIPT_INVALID', 'the receipt handle is not one this gateway handed out');
  }

  /** A keyed 30-bit mix of the numbers (murmur-style rounds). */
  #sum(cursor: number, offset: number, hi: number, lo: number): number {
    const k = this.#seedB | 1;
    let h = this.#seedA;
    h = Math.imul(h ^ cursor, 0x5bd1e995);
    h = Math.imul(h ^ (h >>> 15), k);
    h = Math.imul(h ^ (offset >>> 0), 0x5bd1e995);
    h = Math.imul(h ^ (h >>> 15), k);
    h = Math.imul(h ^ Math.floor(offset / 4294967296), 0x5bd1e995);
    h = Math.imul(h ^ (h >>> 15), k);
    h = Math.imul(h ^ hi, 0x5bd1e995);
    h = Math.imul(h ^ (h >>> 15), k);
    h = Math.imul(h ^ lo, 0x5bd1e995);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) & 0x3fffffff;
  }
}

/** A decimal count as written by encode (digits only, no sign, no leading zero), else -1. */
function toCount(s: string | undefined): number {
  if (s === undefined || s.length === 0 || s.length > 16 || (s.length > 1 && s.charCodeAt(0) === 48))
    return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Scratch for encode: five numbers of at most 16 digits and their dots. */
const TEXT = Buffer.allocUnsafeSlow(96);
const DOT = 46;

/** Writes `n` (a safe integer >= 0) in decimal into TEXT at `at`; returns where it ends. */
function putDecimal(at: number, n: number): number {
  let end = at + 1;
  if (n < 2 ** 31) {
    // small numbers (all but a large offset): integer division
    for (let x = n; x >= 10; x = (x / 10) | 0) end++;
    let i = end;
    let x = n | 0;
    do {
      const q = (x / 10) | 0;
      TEXT[--i] = 48 + x - q * 10;
      x = q;
    } while (x > 0);
    return end;
  }
  for (let x = n; x >= 10; x = Math.floor(x / 10)) end++;
  let i = end;
  let x = n;
  do {
    TEXT[--i] = 48 + (x % 10);
    x = Math.floor(x / 10);
  } while (x > 0);
  return end;
}

/** A version is split at 2^24 into two numbers of at most 24 bits. */
const VERSION_LOW = 2 ** 24;
const POOL = 6 * 1024;
let pool = Buffer.alloc(0);
let at = POOL;

/** A random 48-bit version for a hand-out (from a pool of random bytes, refilled in bulk). */
export function randomVersion(): number {
  if (at + 6 > pool.length) {
    pool = crypto.randomBytes(POOL);
    at = 0;
  }
  const v = pool.readUIntLE(at, 6);
  at += 6;
  return v;
}
