import { afterEach, describe, expect, it, vi } from 'vitest';
import { javaStringHashCode, tagsCode } from '../../src/message/hash.js';
import {
  isMsgId,
  msgIdTime,
  msgIdToString,
  newMsgId,
  newMsgIdBytes,
  msgIdSeqLow16,
  writeMsgId,
  writeNewMsgId,
} from '../../src/message/msg-id.js';

type MsgIdModule = typeof import('../../src/message/msg-id.js');

/** A fresh copy of msg-id.ts whose per-process random values are all `fill` bytes. */
async function msgIdWithRandom(fill: (n: number) => Buffer): Promise<MsgIdModule> {
  vi.resetModules();
  vi.doMock('node:crypto', async (orig) => ({ ...(await orig<object>()), randomBytes: fill }));
  return import('../../src/message/msg-id.js');
}

afterEach(() => {
  vi.doUnmock('node:crypto');
  vi.resetModules();
});

describe('msgId', () => {
  it('msgId - is 32 upper-case hex characters', () => {
    for (let i = 0; i < 100; i++) {
      const id = newMsgId();
      expect(id).toMatch(/^[0-9A-F]{32}$/);
      expect(isMsgId(id)).toBe(true);
    }
    expect(newMsgIdBytes().length).toBe(16);
    const buf = Buffer.alloc(40, 0xee);
    const text = writeNewMsgId(buf, 7);
    expect(text).toBe(msgIdToString(buf, 7));
    expect(buf[6]).toBe(0xee);
    expect(buf[23]).toBe(0xee);
    expect(isMsgId('0123456789abcdefABCDEF0123456789')).toBe(true);
    for (const bad of ['', '0'.repeat(31), '0'.repeat(33), `${'0'.repeat(31)}g`, ` ${'0'.repeat(31)}`])
      expect(isMsgId(bad)).toBe(false);
  });

  it('msgId - 100k ids are unique and each sorts after the one made before it', () => {
    const ids: string[] = [];
    for (let i = 0; i < 100_000; i++) ids.push(newMsgId());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i++) {
      if (!((ids[i - 1] as string) < (ids[i] as string)))
        throw new Error(`id ${i} ${ids[i]} does not sort after ${ids[i - 1]}`);
    }
  });

  it('msgId - carries its time and never steps back when the clock does', () => {
    const t = Date.now() + 60_000;
    expect(msgIdTime(newMsgId(t))).toBe(t);
    const a = newMsgId(t - 30_000); // clock stepped back: keeps the last time
    expect(msgIdTime(a)).toBe(t);
    const b = newMsgId(t + 5);
    expect(msgIdTime(b)).toBe(t + 5);
    expect(a < b).toBe(true);
  });

  it('msgId - the sequence wrapping within one millisecond keeps ids ordered and unique', async () => {
    // seq starts at 0xfffffe: the second id of the millisecond wraps the 24-bit counter
    const m = await msgIdWithRandom((n) => {
      const b = Buffer.alloc(n, 0xff);
      if (n === 3) b[2] = 0xfe;
      return b;
    });
    const t = Date.now();
    const ids = Array.from({ length: 5 }, () => m.newMsgId(t));
    expect(new Set(ids).size).toBe(5);
    expect([...ids].sort()).toEqual(ids);
    // later ids made at the same clock reading still follow, and the text matches the bytes
    const buf = Buffer.alloc(20);
    const text = m.writeNewMsgId(buf, 3, t);
    expect(text).toBe(m.msgIdToString(buf, 3));
    expect(text > (ids[4] as string)).toBe(true);
  });

  it('msgId - ids of two processes differ even at the same time and sequence', async () => {
    const a = await msgIdWithRandom((n) => Buffer.alloc(n, 1));
    const idA = a.newMsgId(1_700_000_000_000);
    const b = await msgIdWithRandom((n) => (n === 3 ? Buffer.alloc(n, 1) : Buffer.alloc(n, 2)));
    const idB = b.newMsgId(1_700_000_000_000);
    expect(idA.slice(0, 18)).toBe(idB.slice(0, 18));
    expect(idA).not.toBe(idB);
  });
});

describe('msgId text', () => {
  it('msgId - isMsgId takes 32 hex digits of either case and nothing else; writeMsgId writes it and answers it in upper case', () => {
    const id = '0123456789abcdefABCDEF0123456789';
    expect(isMsgId(id)).toBe(true);
    for (const bad of [id.slice(1), `${id}0`, `${id.slice(1)}g`, `${id.slice(1)}é`, `${id.slice(1)}٣`, ''])
      expect(isMsgId(bad)).toBe(false);
    expect(isMsgId(42 as unknown as string)).toBe(false);
    const buf = Buffer.alloc(18);
    expect(writeMsgId(buf, 1, id)).toBe(id.toUpperCase());
    expect(buf.subarray(1, 17)).toEqual(Buffer.from(id, 'hex'));
    const upper0 = id.toUpperCase();
    expect(writeMsgId(buf, 1, upper0)).toBe(upper0); // the same string, no copy
    expect(buf.subarray(1, 17)).toEqual(Buffer.from(id, 'hex'));
    expect(msgIdToString(buf, 1)).toBe(id.toUpperCase());
  });
});

describe('msgId sequence bits', () => {
  it('msgIdSeqLow16 - ids made one after another step by one; any text gives a number in range', () => {
    const a = newMsgId();
    const b = newMsgId();
    expect((msgIdSeqLow16(b) - msgIdSeqLow16(a) + 65_536) % 65_536).toBe(1);
    expect(msgIdSeqLow16(a.toLowerCase())).toBe(msgIdSeqLow16(a));
    for (const other of ['', 'x', 'order-42: not an id of ours', '\u4e2d'.repeat(20)]) {
      const n = msgIdSeqLow16(other);
      expect(Number.isInteger(n) && n >= 0 && n < 65_536).toBe(true);
    }
  });
});

describe('javaStringHashCode', () => {
  it('javaStringHashCode - matches Java String.hashCode()', () => {
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('a')).toBe(97);
    // 84*31^3 + 97*31^2 + 103*31 + 65
    expect(javaStringHashCode('TagA')).toBe(2598919);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('Aa')).toBe(2112);
    expect(javaStringHashCode('BB')).toBe(2112);
    // signed 32-bit overflow
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    expect(javaStringHashCode('RocketMQ')).toBe(-453554280);
    expect(javaStringHashCode('TopicTest')).toBe(-1902610879);
    expect(javaStringHashCode('ÄÖÜ-tag-ß')).toBe(601212521);
    // UTF-16 code units, like Java: 'é' = 233, '日本' = 26085*31 + 26412, '😀' = 0xD83D*31 + 0xDE00
    expect(javaStringHashCode('é')).toBe(233);
    expect(javaStringHashCode('日本')).toBe(835047);
    expect(javaStringHashCode('😀')).toBe(1772899);
  });

  it('javaStringHashCode - tagsCode is 0 without a tag and the hash otherwise', () => {
    expect(tagsCode(undefined)).toBe(0);
    expect(tagsCode('')).toBe(0);
    expect(tagsCode('TagA')).toBe(2598919);
  });
});
