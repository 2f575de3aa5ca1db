import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8Length } from '../../src/message/bytes.js';
import {
  checkRecord,
  decodeRecord,
  encodeMessage,
  FIXED_PART,
  readDispatchInfo,
} from '../../src/message/codec.js';
import type { RecordCheck, RecordPlacement } from '../../src/message/codec.js';
import type { MessageInput } from '../../src/message/message.js';
import { SysFlag } from '../../src/message/message.js';

const MAX = 1 << 20;
const TOPIC_CHARS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789%|_-'];

/** Keys that plain assignment to an object would mishandle. */
const SPECIAL_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '1', '0'];
const text = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const hex32 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));

const messageArb: fc.Arbitrary<MessageInput> = fc.record(
  {
    topic: fc.string({ unit: fc.constantFrom(...TOPIC_CHARS), minLength: 1, maxLength: 127 }),
    queueId: fc.integer({ min: 0, max: 0x7fffffff }),
    body: fc.uint8Array({ maxLength: 4096 }),
    tag: text(24),
    keys: fc.array(text(24), { maxLength: 6 }),
    properties: fc.dictionary(fc.oneof(text(16), fc.constantFrom(...SPECIAL_KEYS)), text(48), { maxKeys: 8 }),
    msgId: fc.oneof(
      hex32,
      hex32.map((s) => s.toUpperCase()),
    ),
    bornTimestamp: fc.maxSafeNat(),
    flag: u32,
    sysFlag: u32,
    reconsumeTimes: u32,
    preparedTransactionOffset: fc.maxSafeNat(),
  },
  { requiredKeys: ['topic', 'queueId', 'body'] },
);

const placementArb: fc.Arbitrary<RecordPlacement> = fc.record({
  queueOffset: fc.maxSafeNat(),
  commitLogOffset: fc.maxSafeNat(),
  storeTimestamp: fc.integer({ min: 0, max: 2 ** 46 }),
});

/** Recomputes the CRC of the record at 0 as the writer does: over the record with its CRC field zeroed. */
function reseal(buf: Buffer): void {
  const size = Math.min(buf.readUInt32LE(0), buf.length);
  buf.writeUInt32LE(0, 8);
  buf.writeUInt32LE(crc32(buf.subarray(0, size)), 8);
}

/** checkRecord, then (if it accepts the bytes) both decoders: nothing may throw or read past the record. */
function checkAndDecode(buf: Buffer, off: number, end: number): RecordCheck {
  const before = Buffer.from(buf);
  const c = checkRecord(buf, off, end, MAX);
  expect(buf.equals(before)).toBe(true); // looking does not change the bytes
  // only the bytes in [off, end) decide
  const alone = Buffer.from(buf.subarray(off, end));
  expect(checkRecord(alone, 0, alone.length, MAX)).toEqual(c);
  if (c.kind === 'record') {
    expect(c.size).toBeLessThanOrEqual(end - off);
    const m = decodeRecord(buf, off, c.size);
    const d = readDispatchInfo(buf, off, c.size);
    expect(d.topic).toBe(m.topic);
    expect(m.body.byteOffset - buf.byteOffset + m.body.length).toBeLessThanOrEqual(off + c.size);
    expect(m.body.byteOffset - buf.byteOffset).toBeGreaterThanOrEqual(off + FIXED_PART);
  }
  return c;
}

describe('codec properties', () => {
  it('codec - any valid message round trips through encode, checkRecord and decodeRecord', () => {
    fc.assert(
      fc.property(messageArb, placementArb, (msg, at) => {
        const buf = encodeMessage(msg, at);
        expect(checkRecord(buf, 0, buf.length, MAX)).toEqual({ kind: 'record', size: buf.length });
        const m = decodeRecord(buf, 0, buf.length);
        expect(m.topic).toBe(msg.topic);
        expect(m.queueId).toBe(msg.queueId);
        expect(m.tag).toBe(msg.tag === '' ? undefined : msg.tag);
        expect(m.keys).toEqual(msg.keys ?? []);
        expect(Object.entries(m.properties)).toEqual(Object.entries(msg.properties ?? {}));
        expect(Buffer.compare(m.body, Buffer.from(msg.body))).toBe(0);
        expect(m.bornTimestamp).toBe(msg.bornTimestamp ?? at.storeTimestamp);
        expect(m.storeTimestamp).toBe(at.storeTimestamp);
        expect(m.flag).toBe(msg.flag ?? 0);
        // MULTI_DISPATCH is the store's bit: set only for a record with a second queue entry
        expect(m.sysFlag).toBe(((msg.sysFlag ?? 0) & ~SysFlag.MULTI_DISPATCH) >>> 0);
        expect(m.reconsumeTimes).toBe(msg.reconsumeTimes ?? 0);
        expect(m.preparedTransactionOffset).toBe(msg.preparedTransactionOffset ?? 0);
        expect(m.queueOffset).toBe(at.queueOffset);
        expect(m.commitLogOffset).toBe(at.commitLogOffset);
        expect(m.storeSize).toBe(buf.length);
        if (msg.msgId !== undefined) expect(m.msgId).toBe(msg.msgId.toUpperCase());
        else expect(m.msgId).toMatch(/^[0-9A-F]{32}$/);
      }),
      { numRuns: 1000 },
    );
  });

  it('codec - strings with lone surrogates are measured exactly and come back well formed', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        (s, v) => {
          expect(utf8Length(s)).toBe(Buffer.byteLength(s));
          const buf = encodeMessage(
            { topic: 'T', queueId: 0, body: Buffer.alloc(0), tag: s, keys: [s], properties: { [s]: v } },
            { queueOffset: 0, commitLogOffset: 0, storeTimestamp: 1 },
          );
          expect(checkRecord(buf, 0, buf.length, MAX).kind).toBe('record');
          const m = decodeRecord(buf, 0, buf.length);
          const wf = (x: string): string => Buffer.from(x).toString();
          expect(m.keys).toEqual([wf(s)]);
          expect(m.properties[wf(s)]).toBe(wf(v));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('codec - random bytes at any offset and end never make checkRecord or the decoders throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), fc.nat(), (bytes, a, b) => {
        const buf = Buffer.from(bytes);
        const x = buf.length === 0 ? 0 : a % (buf.length + 1);
        const y = buf.length === 0 ? 0 : b % (buf.length + 1);
        checkAndDecode(buf, Math.min(x, y), Math.max(x, y));
      }),
      { numRuns: 2000 },
    );
  });

  it('codec - random bytes spliced into a valid record are caught or decode safely', () => {
    const splice = fc.record({
      at: fc.nat(),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      reseal: fc.boolean(),
      cut: fc.nat(),
      tail: fc.uint8Array({ maxLength: 16 }),
    });
    fc.assert(
      fc.property(messageArb, fc.array(splice, { minLength: 1, maxLength: 3 }), (msg, edits) => {
        const rec = encodeMessage(msg, { queueOffset: 1, commitLogOffset: 2, storeTimestamp: 3 });
        let buf = Buffer.from(rec);
        let resealed = false;
        for (const e of edits) {
          // aim at the variable part (lengths) half of the time
          const pos = e.at % 2 === 0 ? FIXED_PART + (e.at % (buf.length - FIXED_PART)) : e.at % buf.length;
          buf.set(e.bytes.subarray(0, buf.length - pos), pos);
          if (e.reseal) {
            reseal(buf);
            resealed = true;
          }
        }
        const last = edits.at(-1) as (typeof edits)[number];
        if (last.cut % 3 === 0)
          buf = Buffer.concat([buf.subarray(0, last.cut % (buf.length + 1)), last.tail]);
        const c = checkAndDecode(buf, 0, buf.length);
        // without a resealed CRC, a changed record is never accepted
        if (!resealed && !buf.subarray(0, rec.length).equals(rec)) expect(c.kind).not.toBe('record');
      }),
      { numRuns: 2000 },
    );
  });
});
