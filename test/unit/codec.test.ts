import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import {
  BLANK_MAGIC,
  BLANK_SIZE,
  checkRecord,
  decodeRecord,
  encodeMessage,
  FIXED_PART,
  isPlanProblem,
  MAX_PROPERTIES_BYTES,
  planRecord,
  readDispatchInfo,
  recordBody,
  recordBodyView,
  writeBlank,
} from '../../src/message/codec.js';
import type { MessageInput } from '../../src/message/message.js';
import { MultiDispatchProp, SysFlag } from '../../src/message/message.js';
import { msgIdTime } from '../../src/message/msg-id.js';

const MAX = 1 << 20;
const at = { queueOffset: 12_345_678_901, commitLogOffset: 2 ** 40 + 17, storeTimestamp: 1_700_000_000_123 };

const full: MessageInput = {
  topic: 'Topic_A-b%c|1',
  queueId: 0x7fffffff,
  body: Buffer.from([0, 1, 2, 250, 255, 0]),
  tag: 'TagA',
  keys: ['order-1', '', 'ключ', '注文'],
  properties: { a: '1', '': 'empty key', 'ü-ñ': 'emoji 😀 and 日本語', UNIQ_KEY: '' },
  msgId: '0123456789ABCDEF0123456789ABCDEF',
  bornTimestamp: 1_699_999_999_999,
  flag: 0xfffffffe,
  sysFlag: 0x1c,
  reconsumeTimes: 16,
  preparedTransactionOffset: 2 ** 52 + 3,
};

function encode(msg: MessageInput): Buffer {
  return encodeMessage(msg, at);
}

describe('codec', () => {
  it('codec - round trip keeps every field', () => {
    const buf = encode(full);
    expect(checkRecord(buf, 0, buf.length, MAX)).toEqual({ kind: 'record', size: buf.length });
    const m = decodeRecord(buf, 0, buf.length);
    expect(m).toEqual({
      msgId: full.msgId,
      topic: full.topic,
      queueId: full.queueId,
      queueOffset: at.queueOffset,
      commitLogOffset: at.commitLogOffset,
      storeSize: buf.length,
      tag: 'TagA',
      keys: full.keys,
      properties: full.properties,
      body: Buffer.from(full.body),
      bornTimestamp: full.bornTimestamp,
      storeTimestamp: at.storeTimestamp,
      flag: full.flag,
      sysFlag: full.sysFlag,
      reconsumeTimes: full.reconsumeTimes,
      preparedTransactionOffset: full.preparedTransactionOffset,
    });
    expect(Object.keys(m.properties)).toEqual(Object.keys(full.properties ?? {}));
    const d = readDispatchInfo(buf, 0, buf.length);
    expect(d).toMatchObject({
      commitLogOffset: at.commitLogOffset,
      size: buf.length,
      topic: full.topic,
      queueId: full.queueId,
      queueOffset: at.queueOffset,
      tag: 'TagA',
      keys: full.keys,
      msgId: full.msgId,
      storeTimestamp: at.storeTimestamp,
      sysFlag: full.sysFlag,
    });
  });

  it('codec - a record decodes in place inside a larger buffer', () => {
    const rec = encode(full);
    const big = Buffer.alloc(rec.length + 100, 0xaa);
    rec.copy(big, 37);
    expect(checkRecord(big, 37, 37 + rec.length, MAX)).toEqual({ kind: 'record', size: rec.length });
    expect(decodeRecord(big, 37, rec.length)).toEqual(decodeRecord(rec, 0, rec.length));
  });

  it('codec - minimal message gets defaults, an empty body and a fresh msgId', () => {
    const now = Date.now();
    const placed = { ...at, storeTimestamp: now };
    const buf = encodeMessage({ topic: 'T', queueId: 0, body: new Uint8Array(0) }, placed);
    const m = decodeRecord(buf, 0, buf.length);
    expect(m.body.length).toBe(0);
    expect(m.tag).toBeUndefined();
    expect(m.keys).toEqual([]);
    expect(m.properties).toEqual({});
    expect(m.bornTimestamp).toBe(now);
    expect(m.storeTimestamp).toBe(now);
    expect([m.flag, m.sysFlag, m.reconsumeTimes, m.preparedTransactionOffset]).toEqual([0, 0, 0, 0]);
    expect(m.msgId).toMatch(/^[0-9A-F]{32}$/);
    // the fresh id carries the store timestamp
    expect(msgIdTime(m.msgId)).toBeGreaterThanOrEqual(now);
    expect(msgIdTime(m.msgId)).toBeLessThanOrEqual(Date.now());
    const again = encodeMessage({ topic: 'T', queueId: 0, body: new Uint8Array(0) }, placed);
    expect(decodeRecord(again, 0, again.length).msgId).not.toBe(m.msgId);
  });

  it('codec - an empty tag is stored as no tag and a lower-case msgId comes back upper-case', () => {
    const id = 'abcdef0123456789abcdef0123456789';
    const buf = encode({ topic: 'T', queueId: 1, body: Buffer.from('x'), tag: '', msgId: id });
    const m = decodeRecord(buf, 0, buf.length);
    expect(m.tag).toBeUndefined();
    expect(m.msgId).toBe(id.toUpperCase());
  });

  it('codec - a property named __proto__ survives the round trip', () => {
    const properties = JSON.parse('{"__proto__":"p","constructor":"c","a":"b"}') as Record<string, string>;
    const buf = encode({ topic: 'T', queueId: 0, body: Buffer.alloc(1), properties });
    const m = decodeRecord(buf, 0, buf.length);
    expect(Object.keys(m.properties)).toEqual(['__proto__', 'constructor', 'a']);
    expect(Object.getOwnPropertyDescriptor(m.properties, '__proto__')?.value).toBe('p');
    expect(Object.getPrototypeOf(m.properties)).toBe(Object.prototype);
  });

  it('codec - a record with a second queue (dispatchAlso) carries its topic and offset', () => {
    const buf = encodeMessage(
      { ...full, dispatchAlso: 'RMQ_SYS_TRANS_OP_HALF_TOPIC' },
      at,
      MAX,
      9_007_199_254,
    );
    expect(checkRecord(buf, 0, buf.length, MAX)).toEqual({ kind: 'record', size: buf.length });
    const m = decodeRecord(buf, 0, buf.length);
    expect(m.sysFlag).toBe(full.sysFlag! | SysFlag.MULTI_DISPATCH);
    expect(m.properties).toEqual({
      ...full.properties,
      [MultiDispatchProp.TOPIC]: 'RMQ_SYS_TRANS_OP_HALF_TOPIC',
      [MultiDispatchProp.QUEUE_OFFSET]: '9007199254',
    });
    const info = readDispatchInfo(buf, 0, buf.length);
    expect([info.topic, info.queueId, info.alsoTopic, info.alsoQueueOffset]).toEqual([
      full.topic,
      full.queueId,
      'RMQ_SYS_TRANS_OP_HALF_TOPIC',
      9_007_199_254,
    ]);
    expect(isPlanProblem(planRecord({ ...full, dispatchAlso: 'bad topic' }, MAX))).toBe(true);
  });

  it('codec - properties whose values repeat, change, or change all the time round-trip alike (names written four bytes at a time)', () => {
    for (let i = 0; i < 200; i++) {
      const properties: Record<string, string> = {
        REAL_TOPIC: 'Orders', // always the same
        REAL_QID: String(i % 3), // a few values
        OFFSET: String(1_000_000 + i), // a new value each time
        TRAN_PREPARED_QUEUE_OFFSET: String(i), // a name of 26 bytes: not a multiple of four
        'ключ-ü': i % 2 === 0 ? 'значение 😀' : 'ü', // not ASCII
        LONG: 'x'.repeat(i % 2 === 0 ? 10 : 100),
      };
      const m: MessageInput = { topic: 'T', queueId: 0, body: 'b', properties };
      const buf = encode(m);
      expect(checkRecord(buf, 0, buf.length, MAX)).toEqual({ kind: 'record', size: buf.length });
      expect(decodeRecord(buf, 0, buf.length).properties).toEqual(properties);
    }
  });

  it('codec - msgIdFrom: the id bytes come from the record given (a commit keeps the id of its half message)', () => {
    const source = encode(full);
    const copy: MessageInput = { topic: 'Other', queueId: 1, body: 'x', msgIdFrom: source };
    const m = decodeRecord(encode(copy), 0, encode(copy).length);
    expect(m.msgId).toBe(full.msgId);
    // with the text given too, the record answers that text (the caller's, no decoding)
    const plan = planRecord({ ...copy, msgId: full.msgId }, MAX);
    expect(isPlanProblem(plan)).toBe(false);
    const short = planRecord({ ...copy, msgIdFrom: source.subarray(0, 40) }, MAX);
    expect(isPlanProblem(short) && short.problem).toBe('MESSAGE_ILLEGAL');
  });

  it('codec - recordBody finds the body of a record inside a larger buffer, past tag, keys and properties', () => {
    const rec = encode({ ...full, body: Buffer.alloc(70_000, 7) });
    const buf = Buffer.concat([Buffer.alloc(5, 1), rec, Buffer.alloc(3, 2)]);
    expect(recordBody(buf, 5)).toEqual(Buffer.alloc(70_000, 7));
    const small = encode(full);
    expect(recordBody(small, 0)).toEqual(Buffer.from(full.body as Uint8Array));
    // the same as a plain Uint8Array over a view that does not start the buffer
    const view = new Uint8Array(buf.buffer, buf.byteOffset + 5, rec.length);
    const body = recordBodyView(view, 0);
    expect(Buffer.isBuffer(body)).toBe(false);
    expect(Buffer.from(body)).toEqual(Buffer.alloc(70_000, 7));
    expect(body.buffer).toBe(buf.buffer); // no copy
  });

  it("codec - only the store sets MULTI_DISPATCH: a sender's bit or look-alike properties are not a second queue", () => {
    const buf = encode({
      ...full,
      sysFlag: SysFlag.MULTI_DISPATCH | 0x4,
      properties: { [MultiDispatchProp.TOPIC]: 'Other', [MultiDispatchProp.QUEUE_OFFSET]: '3' },
    });
    expect(decodeRecord(buf, 0, buf.length).sysFlag).toBe(0x4);
    const info = readDispatchInfo(buf, 0, buf.length);
    expect([info.sysFlag, info.alsoTopic, info.alsoQueueOffset]).toEqual([0x4, undefined, 0]);
  });

  it('codec - planRecord refuses bad topics, queue ids and msgIds as MESSAGE_ILLEGAL', () => {
    const base = { queueId: 0, body: Buffer.alloc(1) };
    for (const topic of ['', 'a b', 'topic/x', 'ü', 'x'.repeat(128)]) {
      const p = planRecord({ ...base, topic }, 1024);
      expect(isPlanProblem(p) && p.problem).toBe('MESSAGE_ILLEGAL');
      expect(isPlanProblem(p) && p.reason).toMatch(/topic name/);
    }
    expect(isPlanProblem(planRecord({ ...base, topic: 'x'.repeat(127) }, 1024))).toBe(false);
    for (const queueId of [-1, 1.5, 2 ** 31, Number.NaN]) {
      const p = planRecord({ ...base, topic: 'T', queueId }, 1024);
      expect(isPlanProblem(p) && p.reason).toMatch(/queueId/);
    }
    for (const msgId of ['', 'XYZ', '0'.repeat(31), '0'.repeat(33), 'g'.repeat(32)]) {
      const p = planRecord({ ...base, topic: 'T', msgId }, 1024);
      expect(isPlanProblem(p) && p.problem).toBe('MESSAGE_ILLEGAL');
      expect(isPlanProblem(p) && p.reason).toMatch(/msgId/);
    }
  });

  it('codec - planRecord refuses a body over maxMessageSize, naming the limit', () => {
    const ok = planRecord({ topic: 'T', queueId: 0, body: Buffer.alloc(1000) }, 1000);
    expect(isPlanProblem(ok)).toBe(false);
    const p = planRecord({ topic: 'T', queueId: 0, body: Buffer.alloc(1001) }, 1000);
    expect(p).toEqual({ problem: 'MESSAGE_ILLEGAL', reason: expect.stringContaining('maxMessageSize') });
    expect(isPlanProblem(p) && p.reason).toContain('1000');
  });

  it('codec - planRecord refuses tag, keys and properties over the limit as PROPERTIES_SIZE_EXCEEDED', () => {
    // topic 'T' (1) + four u16 prefixes (8) + one property: 4 + 1 + value
    const fits = MAX_PROPERTIES_BYTES - 1 - 8 - 4 - 1;
    const msg = (n: number): MessageInput => ({
      topic: 'T',
      queueId: 0,
      body: Buffer.alloc(0),
      properties: { k: 'v'.repeat(n) },
    });
    const p = planRecord(msg(fits), 1024);
    expect(isPlanProblem(p)).toBe(false);
    const over = planRecord(msg(fits + 1), 1024);
    expect(isPlanProblem(over) && over.problem).toBe('PROPERTIES_SIZE_EXCEEDED');
    const tagOver = planRecord(
      { topic: 'T', queueId: 0, body: Buffer.alloc(0), tag: 't'.repeat(40_000) },
      1024,
    );
    expect(isPlanProblem(tagOver) && tagOver.problem).toBe('PROPERTIES_SIZE_EXCEEDED');
    const keysOver = planRecord(
      {
        topic: 'T',
        queueId: 0,
        body: Buffer.alloc(0),
        keys: Array.from({ length: 4000 }, () => 'k'.repeat(8)),
      },
      1024,
    );
    expect(isPlanProblem(keysOver) && keysOver.problem).toBe('PROPERTIES_SIZE_EXCEEDED');
    // the largest allowed record still encodes and decodes
    const big = encode(msg(fits));
    expect(checkRecord(big, 0, big.length, MAX).kind).toBe('record');
    expect(decodeRecord(big, 0, big.length).properties.k?.length).toBe(fits);
  });

  it('codec - planRecord measures the encoded size exactly', () => {
    const p = planRecord(full, 1024);
    expect(isPlanProblem(p)).toBe(false);
    expect(!isPlanProblem(p) && p.size).toBe(encode(full).length);
  });

  it('codec - checkRecord detects every flipped byte of a record', () => {
    const rec = encode(full);
    for (let i = 0; i < rec.length; i++) {
      for (const mask of [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff]) {
        const bad = Buffer.from(rec);
        bad[i] = (bad[i] as number) ^ mask;
        const c = checkRecord(bad, 0, bad.length, MAX);
        if (c.kind === 'record') throw new Error(`byte ${i} ^ 0x${mask.toString(16)} not detected`);
        expect(['corrupt', 'short']).toContain(c.kind);
      }
    }
  });

  it('codec - checkRecord never accepts a truncated record', () => {
    const rec = encode(full);
    for (let len = 0; len < rec.length; len++) {
      const c = checkRecord(rec, 0, len, MAX);
      expect(c.kind === 'short' || c.kind === 'corrupt', `length ${len}: ${c.kind}`).toBe(true);
      if (len >= BLANK_SIZE) expect(c).toEqual({ kind: 'short', need: rec.length });
      // the same with the bytes really cut off
      const cut = checkRecord(Buffer.from(rec.subarray(0, len)), 0, len, MAX);
      expect(cut).toEqual(c);
    }
    expect(checkRecord(rec, 0, 7, MAX)).toEqual({ kind: 'short', need: BLANK_SIZE });
  });

  it('codec - checkRecord refuses a record longer than maxRecordSize and bad magic', () => {
    const rec = encode(full);
    expect(checkRecord(rec, 0, rec.length, rec.length - 1)).toMatchObject({ kind: 'corrupt' });
    expect(checkRecord(rec, 0, rec.length, rec.length)).toEqual({ kind: 'record', size: rec.length });
    const zeros = Buffer.alloc(200);
    expect(checkRecord(zeros, 0, zeros.length, MAX)).toMatchObject({ kind: 'corrupt', reason: /magic/ });
  });

  it('codec - checkRecord recognises the blank marker', () => {
    const buf = Buffer.alloc(64, 0x55);
    writeBlank(buf, 16, 48);
    expect(buf.readUInt32LE(20)).toBe(BLANK_MAGIC);
    expect(checkRecord(buf, 16, 24, MAX)).toEqual({ kind: 'blank', size: 48 });
    expect(checkRecord(buf, 16, 64, MAX)).toEqual({ kind: 'blank', size: 48 });
    writeBlank(buf, 0, BLANK_SIZE);
    expect(checkRecord(buf, 0, 8, MAX)).toEqual({ kind: 'blank', size: BLANK_SIZE });
    writeBlank(buf, 0, 7);
    expect(checkRecord(buf, 0, 8, MAX)).toMatchObject({ kind: 'corrupt' });
    expect(checkRecord(buf, 0, 7, MAX)).toEqual({ kind: 'short', need: BLANK_SIZE });
  });
});

describe('codec - properties block', () => {
  it('codec - a resealed record whose properties block holds an odd string is refused, never decoded', () => {
    const rec = encodeMessage(
      { topic: 'T', queueId: 0, body: Buffer.from('b'), properties: { k: 'v' } },
      { queueOffset: 0, commitLogOffset: 0, storeTimestamp: 1 },
    );
    // find the properties block: after topic "T" (2+1), empty tag (2), no keys (2)
    const propsAt = FIXED_PART + 3 + 2 + 2;
    const blockLen = rec.readUInt16LE(propsAt);
    expect(blockLen).toBe(2 + 1 + 2 + 1);
    // turn the pair into one string of 4 bytes: "k" + [0,1] + "v" read as a single string
    rec.writeUInt16LE(4, propsAt + 2);
    rec.writeUInt32LE(0, 8);
    rec.writeUInt32LE(crc32(rec), 8);
    expect(checkRecord(rec, 0, rec.length, 1 << 20).kind).toBe('corrupt');
  });
});
