import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPlanProblem, planRecord } from '../../src/message/codec.js';
import type { MessageInput } from '../../src/message/message.js';
import { MessageStore } from '../../src/store/index.js';
import type { PutMessageResult, StoreOptions } from '../../src/store/index.js';
import { tmpDir } from '../helpers/tmp.js';

const SEG = 64 * 1024;
const MAX = 8 * 1024;

function opts(dir: string, more: Partial<StoreOptions> = {}): StoreOptions {
  return { dataDir: dir, segmentSize: SEG, maxMessageSize: MAX, ...more };
}

/** A body of `n` bytes whose content tells messages apart. */
function bodyOf(i: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let j = 0; j < n; j++) b[j] = (i * 31 + j) & 0xff;
  return b;
}

/** The body length that makes a message's record exactly `size` bytes. */
function bodyForRecord(msg: Omit<MessageInput, 'body'>, size: number): number {
  const plan = planRecord({ ...msg, body: Buffer.alloc(0) }, MAX);
  if (isPlanProblem(plan)) throw new Error(plan.reason);
  return size - plan.size;
}

function segmentNames(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'commitlog')).sort();
}

async function readAll(store: MessageStore, topic: string, queueId: number) {
  const out = [];
  for (let off = store.minOffset(topic, queueId); off < store.maxOffset(topic, queueId);) {
    const r = await store.getMessages(topic, queueId, off, 32);
    expect(r.status).toBe('FOUND');
    expect(r.corrupted).toEqual([]);
    out.push(...r.messages);
    off = r.nextBeginOffset;
  }
  return out;
}

describe('commit log', () => {
  it('commit log - messages roll over into segments named by their start offset', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    const results: PutMessageResult[] = [];
    for (let i = 0; i < 300; i++) {
      const r = await store.putMessage({
        topic: 'T',
        queueId: i % 3,
        body: bodyOf(i, 200 + ((i * 977) % 2800)),
      });
      expect(r.status).toBe('PUT_OK');
      results.push(r);
    }
    const names = segmentNames(dir);
    expect(names.length).toBeGreaterThan(5);
    names.forEach((n, i) => {
      expect(n).toMatch(/^\d{20}$/);
      expect(Number(n)).toBe(i * SEG);
    });
    let prevEnd = 0;
    for (const r of results) {
      const off = r.commitLogOffset as number;
      const end = off + (r.storeSize as number);
      expect(off).toBeGreaterThanOrEqual(prevEnd);
      // a record never spans segments, and leaves room for the closing marker
      expect(Math.floor(off / SEG)).toBe(Math.floor((end - 1) / SEG));
      expect(end).toBeLessThanOrEqual(Math.floor(off / SEG) * SEG + SEG - 8);
      prevEnd = end;
    }
    expect(store.stats().writeEnd).toBe(prevEnd);
    const check = async (s: MessageStore): Promise<void> => {
      for (let q = 0; q < 3; q++) {
        const got = await readAll(s, 'T', q);
        const want = results.filter((_, i) => i % 3 === q);
        expect(got.map((m) => m.msgId)).toEqual(want.map((r) => r.msgId));
        got.forEach((m, k) => expect(m.body.equals(bodyOf(3 * k + q, m.body.length))).toBe(true));
      }
      for (const r of results) {
        const m = await s.getByCommitLogOffset(r.commitLogOffset as number);
        expect(m?.msgId).toBe(r.msgId);
      }
    };
    await check(store);
    await store.close();
    // a full scan crosses every segment boundary
    fs.rmSync(path.join(dir, 'checkpoint'));
    const again = await MessageStore.open(opts(dir));
    expect(again.recovery).toMatchObject({ records: 300, corrupt: [], end: prevEnd });
    expect(again.recovery.truncated).toBeUndefined();
    await check(again);
    await again.close();
  });

  it('commit log - the largest record that fits ends a segment 8 bytes early; one byte more moves on', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    const head = { topic: 'T', queueId: 0 };
    let end = 0;
    while (SEG - end > 6000) {
      const r = await store.putMessage({ ...head, body: bodyOf(end, 4000) });
      end = (r.commitLogOffset as number) + (r.storeSize as number);
    }
    // exactly filling the rest but the 8 bytes of the closing marker
    const fill = await store.putMessage({ ...head, body: bodyOf(1, bodyForRecord(head, SEG - end - 8)) });
    expect(fill).toMatchObject({ status: 'PUT_OK', commitLogOffset: end, storeSize: SEG - end - 8 });
    const next = await store.putMessage({ ...head, body: bodyOf(2, 10) });
    expect(next.commitLogOffset).toBe(SEG);
    expect(fs.statSync(path.join(dir, 'commitlog', segmentNames(dir)[0] as string)).size).toBe(SEG);
    // in the second segment: a record 7 bytes short of the end does not fit and starts the third
    end = SEG + (next.storeSize as number);
    while (2 * SEG - end > 6000) {
      const r = await store.putMessage({ ...head, body: bodyOf(end, 4000) });
      end = (r.commitLogOffset as number) + (r.storeSize as number);
    }
    const over = await store.putMessage({ ...head, body: bodyOf(3, bodyForRecord(head, 2 * SEG - end - 7)) });
    expect(over).toMatchObject({ status: 'PUT_OK', commitLogOffset: 2 * SEG });
    expect(segmentNames(dir).length).toBe(3);
    const all = await readAll(store, 'T', 0);
    expect(all.map((m) => m.msgId)).toContain(fill.msgId);
    expect(all.at(-1)?.body.equals(bodyOf(3, all.at(-1)?.body.length ?? 0))).toBe(true);
    await store.close();
    fs.rmSync(path.join(dir, 'checkpoint'));
    const again = await MessageStore.open(opts(dir));
    expect(again.recovery.truncated).toBeUndefined();
    expect(again.recovery.records).toBe(all.length);
    expect((await readAll(again, 'T', 0)).map((m) => m.msgId)).toEqual(all.map((m) => m.msgId));
    await again.close();
  });

  it('commit log - a body of maxMessageSize is stored, one byte more is MESSAGE_ILLEGAL and writes nothing', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    const ok = await store.putMessage({ topic: 'T', queueId: 0, body: bodyOf(0, MAX) });
    expect(ok).toMatchObject({ status: 'PUT_OK', queueOffset: 0 });
    const before = store.stats().writeEnd;
    const bad = await store.putMessage({ topic: 'T', queueId: 0, body: bodyOf(1, MAX + 1) });
    expect(bad.status).toBe('MESSAGE_ILLEGAL');
    expect(bad.reason).toContain('maxMessageSize');
    expect(bad.msgId).toBeUndefined();
    expect(store.stats().writeEnd).toBe(before);
    expect(store.maxOffset('T', 0)).toBe(1);
    const after = await store.putMessage({ topic: 'T', queueId: 0, body: bodyOf(2, 10) });
    expect(after).toMatchObject({ status: 'PUT_OK', queueOffset: 1, commitLogOffset: before });
    const got = await store.getMessages('T', 0, 0, 10);
    expect(got.messages.map((m) => m.body.length)).toEqual([MAX, 10]);
    await store.close();
  });

  it('commit log - concurrent appends get contiguous distinct queue offsets per queue', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        store.putMessage({ topic: 'T', queueId: i % 4, body: bodyOf(i, 100 + i * 7), keys: [`k${i}`] }),
      ),
    );
    expect(results.every((r) => r.status === 'PUT_OK')).toBe(true);
    expect(new Set(results.map((r) => r.commitLogOffset)).size).toBe(200);
    expect(new Set(results.map((r) => r.msgId)).size).toBe(200);
    for (let q = 0; q < 4; q++) {
      const mine = results.filter((r) => r.queueId === q);
      expect(mine.map((r) => r.queueOffset).sort((a, b) => (a as number) - (b as number))).toEqual(
        Array.from({ length: 50 }, (_, k) => k),
      );
      const got = await readAll(store, 'T', q);
      for (const m of got) expect(m.msgId).toBe(mine.find((r) => r.queueOffset === m.queueOffset)?.msgId);
    }
    await store.close();
  });

  it('commit log - SYNC_FLUSH acknowledges concurrent appends with far fewer fsyncs than messages', async () => {
    const store = await MessageStore.open(opts(tmpDir(), { flushDiskType: 'SYNC_FLUSH' }));
    const before = store.stats().fsyncs;
    const results = await Promise.all(
      Array.from({ length: 64 }, (_, i) =>
        store.putMessage({ topic: 'T', queueId: 0, body: bodyOf(i, 300) }),
      ),
    );
    expect(results.every((r) => r.status === 'PUT_OK')).toBe(true);
    const fsyncs = store.stats().fsyncs - before;
    expect(fsyncs).toBeGreaterThanOrEqual(1);
    expect(fsyncs).toBeLessThanOrEqual(8);
    // acknowledged means on disk
    expect(store.stats().flushedEnd).toBe(store.stats().writeEnd);
    await store.close();
  });

  it('commit log - a batch answers per message: an illegal one does not stop the others', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    const results = await store.putMessages([
      { topic: 'T', queueId: 0, body: bodyOf(0, 10) },
      { topic: 'bad topic', queueId: 0, body: bodyOf(1, 10) },
      { topic: 'T', queueId: 0, body: bodyOf(2, MAX + 1) },
      { topic: 'T', queueId: 0, body: bodyOf(3, 10), properties: { p: 'x'.repeat(40_000) } },
      { topic: 'T', queueId: 0, body: bodyOf(4, 10) },
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'PUT_OK',
      'MESSAGE_ILLEGAL',
      'MESSAGE_ILLEGAL',
      'PROPERTIES_SIZE_EXCEEDED',
      'PUT_OK',
    ]);
    expect(results[1]?.reason).toMatch(/topic/);
    expect([results[0]?.queueOffset, results[4]?.queueOffset]).toEqual([0, 1]);
    const got = await store.getMessages('T', 0, 0, 10);
    expect(got.messages.map((m) => m.msgId)).toEqual([results[0]?.msgId, results[4]?.msgId]);
    expect(store.queues().map((q) => q.topic)).toEqual(['T']);
    await store.close();
  });

  it('commit log - a closed store answers SERVICE_NOT_AVAILABLE', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    await store.putMessage({ topic: 'T', queueId: 0, body: bodyOf(0, 10) });
    await store.close();
    expect((await store.putMessage({ topic: 'T', queueId: 0, body: bodyOf(1, 10) })).status).toBe(
      'SERVICE_NOT_AVAILABLE',
    );
    const batch = await store.putMessages([
      { topic: 'T', queueId: 0, body: bodyOf(2, 10) },
      { topic: 'T', queueId: 1, body: bodyOf(3, 10) },
    ]);
    expect(batch.map((r) => r.status)).toEqual(['SERVICE_NOT_AVAILABLE', 'SERVICE_NOT_AVAILABLE']);
    await store.close(); // closing twice is harmless
  });
});
