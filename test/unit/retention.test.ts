import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MqgateError } from '../../src/errors.js';
import { MessageStore, resolveStoreOptions } from '../../src/store/index.js';
import type { PutMessageResult, StoreOptions } from '../../src/store/index.js';
import { tmpDir } from '../helpers/tmp.js';

const SEG = 64 * 1024;
const HOUR = 3600_000;

function opts(dir: string, more: Partial<StoreOptions> = {}): StoreOptions {
  return {
    dataDir: dir,
    segmentSize: SEG,
    maxMessageSize: 8 * 1024,
    consumeQueueFileEntries: 20,
    indexSlots: 16,
    indexEntries: 40,
    ...more,
  };
}

/** About six segments of messages over three queues; body byte 0 and 1 hold the index. */
async function fill(store: MessageStore, n = 200): Promise<PutMessageResult[]> {
  const out: PutMessageResult[] = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(1900, 7);
    b.writeUInt16LE(i, 0);
    out.push(await store.putMessage({ topic: 'T', queueId: i % 3, body: b, keys: [`k${i}`] }));
  }
  return out;
}

const segments = (dir: string): string[] => fs.readdirSync(path.join(dir, 'commitlog')).sort();
const indexFiles = (dir: string): string[] => fs.readdirSync(path.join(dir, 'index')).sort();

function age(dir: string, names: readonly string[], hours: number): void {
  const t = new Date(Date.now() - hours * HOUR);
  for (const n of names) fs.utimesSync(path.join(dir, 'commitlog', n), t, t);
}

describe('retention', () => {
  it('retention - expired segments go oldest first and queue min offsets follow', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    const res = await fill(store);
    const segs = segments(dir);
    expect(segs.length).toBeGreaterThanOrEqual(6);
    // the third is young: retention stops there even though the fourth is old
    age(dir, [segs[0], segs[1], segs[3]] as string[], 73);
    expect(await store.cleanExpiredFiles()).toMatchObject({
      removedSegments: [segs[0], segs[1]],
      minOffset: 2 * SEG,
    });
    expect(segments(dir)).toEqual(segs.slice(2));
    expect(store.stats().minOffset).toBe(2 * SEG);
    for (let q = 0; q < 3; q++) {
      const mine = res.filter((r) => r.queueId === q);
      const firstKept = mine.findIndex((r) => (r.commitLogOffset as number) >= 2 * SEG);
      expect(firstKept).toBeGreaterThan(0);
      expect(store.minOffset('T', q)).toBe(firstKept);
      expect(store.maxOffset('T', q)).toBe(mine.length);
      expect(await store.getMessages('T', q, firstKept - 1, 5)).toMatchObject({
        status: 'OFFSET_TOO_SMALL',
        nextBeginOffset: firstKept,
        minOffset: firstKept,
      });
      const r = await store.getMessages('T', q, firstKept, 1000);
      expect(r.status).toBe('FOUND');
      expect(r.messages.map((m) => m.msgId)).toEqual(mine.slice(firstKept).map((x) => x.msgId));
    }
    // gone by msgId too, the rest still found
    for (const r of res) {
      const m = await store.getByMsgId(r.msgId as string);
      if ((r.commitLogOffset as number) < 2 * SEG) expect(m).toBeUndefined();
      else expect(m?.msgId).toBe(r.msgId);
    }
    // nothing more expires
    expect((await store.cleanExpiredFiles()).removedSegments).toEqual([]);
    await store.close();
  });

  it('retention - the segment being written is never deleted, however old', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    const res = await fill(store);
    const segs = segments(dir);
    age(dir, segs, 1000);
    const last = segs.at(-1) as string;
    expect(await store.cleanExpiredFiles()).toMatchObject({
      removedSegments: segs.slice(0, -1),
      minOffset: Number(last),
    });
    expect(segments(dir)).toEqual([last]);
    // a clock far ahead expires everything but the last, too
    expect((await store.cleanExpiredFiles(Date.now() + 1000 * HOUR)).removedSegments).toEqual([]);
    const w = await store.putMessage({ topic: 'T', queueId: 0, body: Buffer.from('after') });
    expect(w.status).toBe('PUT_OK');
    const q0 = res.filter((r) => r.queueId === 0);
    expect(w.queueOffset).toBe(q0.length);
    const got = await store.getMessages('T', 0, store.minOffset('T', 0), 1000);
    expect(got.messages.at(-1)?.body.toString()).toBe('after');
    await store.close();
  });

  it('retention - index files wholly below the new min offset are removed', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    const res = await fill(store);
    const before = indexFiles(dir);
    expect(before.length).toBeGreaterThan(5);
    const segs = segments(dir);
    age(dir, segs.slice(0, 3), 100);
    const report = await store.cleanExpiredFiles();
    const min = 3 * SEG;
    expect(report.minOffset).toBe(min);
    // file i covers [start i, start i+1): gone when that range is wholly below min
    const starts = before.map(Number);
    const expectedGone = before.filter((_, i) => i < before.length - 1 && (starts[i + 1] as number) <= min);
    expect(expectedGone.length).toBeGreaterThan(0);
    expect(report.removedIndexFiles).toBe(expectedGone.length);
    expect(indexFiles(dir)).toEqual(before.slice(expectedGone.length));
    for (const r of res.filter((x) => (x.commitLogOffset as number) >= min))
      expect((await store.queryByKey('T', `k${res.indexOf(r)}`)).map((m) => m.msgId)).toEqual([r.msgId]);
    await store.close();
  });

  it('retention - queue min offsets survive reopening the store', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    await fill(store);
    age(dir, segments(dir).slice(0, 2), 100);
    await store.cleanExpiredFiles();
    const queues = store.queues();
    await store.close();
    const again = await MessageStore.open(opts(dir));
    expect(again.queues()).toEqual(queues);
    for (const q of queues) {
      expect((await again.getMessages('T', q.queueId, q.minOffset - 1, 1)).status).toBe('OFFSET_TOO_SMALL');
      const r = await again.getMessages('T', q.queueId, q.minOffset, 1);
      expect(r.status).toBe('FOUND');
    }
    await again.close();
  });
});

describe('store options', () => {
  const bad = (o: Partial<StoreOptions>, key: string): void => {
    let err: unknown;
    try {
      resolveStoreOptions({ dataDir: '/tmp/x', ...o } as StoreOptions);
    } catch (e) {
      err = e;
    }
    expect(err, JSON.stringify(o)).toBeInstanceOf(MqgateError);
    expect((err as MqgateError).code).toBe('MQ_ERR_CONFIG_INVALID');
    expect((err as MqgateError).message).toContain(`store.${key}`);
  };

  it('store options - bad values are refused, naming the key', () => {
    bad({ segmentSize: 64 * 1024, maxMessageSize: 64 * 1024 }, 'segmentSize');
    bad({ segmentSize: 1024 }, 'segmentSize');
    bad({ segmentSize: 1.5e6 }, 'segmentSize');
    bad({ maxMessageSize: 0 }, 'maxMessageSize');
    bad({ maxMessageSize: -5 }, 'maxMessageSize');
    bad({ flushDiskType: 'SOMETIMES' as 'SYNC_FLUSH' }, 'flushDiskType');
    bad({ flushIntervalMs: 0 }, 'flushIntervalMs');
    bad({ syncFlushTimeoutMs: Number.NaN }, 'syncFlushTimeoutMs');
    bad({ consumeQueueFileEntries: 0 }, 'consumeQueueFileEntries');
    bad({ indexSlots: 2.5 }, 'indexSlots');
    bad({ indexEntries: -1 }, 'indexEntries');
    bad({ checkpointIntervalMs: 0 }, 'checkpointIntervalMs');
    bad({ fileReservedTimeMs: Number.POSITIVE_INFINITY }, 'fileReservedTimeMs');
    bad({ deleteWhen: [24] }, 'deleteWhen');
    bad({ deleteWhen: [-1] }, 'deleteWhen');
    bad({ cleanIntervalMs: 0 }, 'cleanIntervalMs');
    bad({ writeChunkSize: 100 }, 'writeChunkSize');
    bad({ dataDir: '' }, 'dataDir');
  });

  it('store options - defaults apply and the smallest segment that holds the largest record is accepted', () => {
    const o = resolveStoreOptions({ dataDir: '/tmp/x' });
    expect(o).toMatchObject({
      segmentSize: 1024 * 1024 * 1024,
      maxMessageSize: 4 * 1024 * 1024,
      flushDiskType: 'ASYNC_FLUSH',
      fileReservedTimeMs: 72 * HOUR,
      deleteWhen: [4],
    });
    const small = resolveStoreOptions({ dataDir: '/tmp/x', segmentSize: SEG, maxMessageSize: 8 * 1024 });
    expect(small.segmentSize).toBe(SEG);
    expect(small.writeChunkSize).toBeGreaterThanOrEqual(8 * 1024);
  });
});
