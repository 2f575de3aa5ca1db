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
 * - a 64-bit keyed checksum (two FNV-1a lanes seeded from a key kept in the data directory, so
 *   handles stay valid across a restart) tells a damaged or edited handle (`INVALID`) from a
 *   stale one (`EXPIRED`). It is not a cryptographic MAC — the version check is what guards —
 *   and it costs well under a microsecond, where an HMAC per message cost more than the rest of
 *   a delivery.
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

  /** `cursor.offset.version.checksum`, numbers in base 36: short, and cheap to make and read. */
  encode(d: HandleData): string {
    const payload = `${d.cursor.toString(36)}.${d.offset.toString(36)}.${d.version.toString(36)}`;
    return `${payload}.${this.#sum(payload)}`;
  }

  /**
   * Checks a handle's form and checksum; which group and topic it belongs to, and whether it
   * still names a message in flight, are the caller's checks (through the cursor).
   *
   * @throws MqgateError `MQ_ERR_RECEIPT_INVALID` when malformed or edited
   */
  decode(handle: unknown): HandleData {
    if (typeof handle !== 'string' || handle.length === 0 || handle.length > 200)
      throw new MqgateError(
        'MQ_ERR_RECEIPT_INVALID',
        'a receipt handle is a non-empty string from a receive',
      );
    const parts = handle.split('.');
    const [c, o, v] = parts as [string, string, string];
    const payload = `${c}.${o}.${v}`;
    const sum = parts.length === 5 ? this.#sum(payload) : '';
    if (sum === '' || handle.length !== payload.length + 1 + sum.length || !handle.endsWith(sum))
      throw new MqgateError(
        'MQ_ERR_RECEIPT_INVALID',
        'the receipt handle is not one this gateway handed out',
      );
    return { cursor: parseInt(c, 36), offset: parseInt(o, 36), version: parseInt(v, 36) };
  }

  #sum(payload: string): string {
    let a = this.#seedA;
    let b = this.#seedB;
    for (let i = 0; i < payload.length; i++) {
      const c = payload.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b + c, 0x5bd1e995);
    }
    a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
    b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
    return ((a ^ (a >>> 13)) >>> 0).toString(36) + '.' + ((b ^ (b >>> 16)) >>> 0).toString(36);
  }
}

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
