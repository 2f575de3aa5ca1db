import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { tagsCode } from '../../src/message/hash.js';
import { MessageStore } from '../../src/store/index.js';
import type { MessageFilter, PutMessageResult, StoreOptions } from '../../src/store/index.js';
import { body, tmpDir } from '../helpers/tmp.js';

function opts(dir: string, more: Partial<StoreOptions> = {}): StoreOptions {
  return {
    dataDir: dir,
    segmentSize: 64 * 1024,
    maxMessageSize: 8 * 1024,
    consumeQueueFileEntries: 100,
    ...more,
  };
}

async function fill(store: MessageStore, n: number, tag = (i: number): string | undefined => `t${i % 3}`) {
  const out: PutMessageResult[] = [];
  for (let i = 0; i < n; i++) {
    const t = tag(i);
    out.push(
      await store.putMessage({ topic: 'T', queueId: 0, body: body(`m${i}`), ...(t ? { tag: t } : {}) }),
    );
  }
  return out;
}

const bodies = (r: { messages: { body: Buffer }[] }): string[] => r.messages.map((m) => m.body.toString());
const range = (a: number, b: number): string[] => Array.from({ length: b - a }, (_, i) => `m${a + i}`);

describe('consume queue', () => {
  it('consume queue - entries span files of consumeQueueFileEntries and reads cross them', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    await fill(store, 250);
    await store.flush();
    const files = fs.readdirSync(path.join(dir, 'consumequeue', 'T', '0')).sort();
    expect(files).toEqual(['00000000000000000000', '00000000000000000100', '00000000000000000200']);
    const sizes = files.map((f) => fs.statSync(path.join(dir, 'consumequeue', 'T', '0', f)).size);
    expect(sizes).toEqual([2000, 2000, 1000]);
    const r = await store.getMessages('T', 0, 95, 10);
    expect(r).toMatchObject({ status: 'FOUND', nextBeginOffset: 105, minOffset: 0, maxOffset: 250 });
    expect(bodies(r)).toEqual(range(95, 105));
    expect(r.messages.map((m) => m.queueOffset)).toEqual(Array.from({ length: 10 }, (_, i) => 95 + i));
    const wide = await store.getMessages('T', 0, 50, 500);
    expect(wide.nextBeginOffset).toBe(250);
    expect(bodies(wide)).toEqual(range(50, 250));
    await store.close();
  });

  it('consume queue - getMessages answers each offset situation with its status', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    expect((await store.getMessages('T', 0, 0, 10)).status).toBe('NO_MATCHED_LOGIC_QUEUE');
    await fill(store, 20);
    expect((await store.getMessages('T', 1, 0, 10)).status).toBe('NO_MATCHED_LOGIC_QUEUE');
    expect((await store.getMessages('U', 0, 0, 10)).status).toBe('NO_MATCHED_LOGIC_QUEUE');
    expect(await store.getMessages('T', 0, 20, 10)).toMatchObject({
      status: 'OFFSET_OVERFLOW_ONE',
      nextBeginOffset: 20,
      messages: [],
    });
    expect(await store.getMessages('T', 0, 25, 10)).toMatchObject({
      status: 'OFFSET_OVERFLOW_BADLY',
      nextBeginOffset: 20,
      maxOffset: 20,
    });
    const found = await store.getMessages('T', 0, 7, 5);
    expect(found).toMatchObject({ status: 'FOUND', nextBeginOffset: 12, corrupted: [] });
    expect(bodies(found)).toEqual(range(7, 12));
    const tail = await store.getMessages('T', 0, 18, 5);
    expect(tail.nextBeginOffset).toBe(20);
    expect(bodies(tail)).toEqual(range(18, 20));
    // a queue whose only message was lost to a torn tail exists but is empty
    await store.putMessage({ topic: 'T', queueId: 1, body: body('only') });
    const end = store.stats().writeEnd;
    await store.close();
    fs.truncateSync(path.join(dir, 'commitlog', '00000000000000000000'), end - 5);
    const again = await MessageStore.open(opts(dir));
    expect(await again.getMessages('T', 1, 0, 10)).toMatchObject({
      status: 'NO_MESSAGE_IN_QUEUE',
      nextBeginOffset: 0,
    });
    await again.close();
  });

  it('consume queue - an offset below the min left by retention is OFFSET_TOO_SMALL', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    for (let i = 0; i < 40; i++)
      await store.putMessage({ topic: 'T', queueId: 0, body: Buffer.alloc(4000, i) });
    const first = path.join(dir, 'commitlog', '00000000000000000000');
    const old = new Date(Date.now() - 100 * 3600_000);
    fs.utimesSync(first, old, old);
    const report = await store.cleanExpiredFiles();
    expect(report.removedSegments).toEqual(['00000000000000000000']);
    const min = store.minOffset('T', 0);
    expect(min).toBeGreaterThan(0);
    expect(await store.getMessages('T', 0, 0, 10)).toMatchObject({
      status: 'OFFSET_TOO_SMALL',
      nextBeginOffset: min,
      minOffset: min,
      messages: [],
    });
    const r = await store.getMessages('T', 0, min, 1);
    expect(r.status).toBe('FOUND');
    expect(r.messages[0]?.body[0]).toBe(min);
    await store.close();
  });

  it('consume queue - maxMessages and maxBytes bound a read, which takes at least one message', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    const res = await fill(store, 30);
    const size = res[10]?.storeSize as number;
    expect(res.slice(10, 13).every((r) => r.storeSize === size)).toBe(true);
    const two = await store.getMessages('T', 0, 10, 10, { maxBytes: 2 * size + size / 2 });
    expect(bodies(two)).toEqual(range(10, 12));
    expect(two.nextBeginOffset).toBe(12);
    const exact = await store.getMessages('T', 0, 10, 10, { maxBytes: 3 * size });
    expect(bodies(exact)).toEqual(range(10, 13));
    const one = await store.getMessages('T', 0, 10, 10, { maxBytes: 1 });
    expect(one).toMatchObject({ status: 'FOUND', nextBeginOffset: 11 });
    expect(bodies(one)).toEqual(['m10']);
    const three = await store.getMessages('T', 0, 0, 3);
    expect(bodies(three)).toEqual(range(0, 3));
    await store.close();
  });

  it('consume queue - a tag filter skips other entries and reports NO_MATCHED_MESSAGE past them', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    await fill(store, 150, (i) => (i < 120 ? 'B' : i % 2 === 0 ? 'A' : undefined));
    let seenCodes = 0;
    const onlyC: MessageFilter = {
      matchTagsCode: (c) => {
        seenCodes++;
        return c === tagsCode('C');
      },
    };
    const none = await store.getMessages('T', 0, 0, 10, { filter: onlyC });
    expect(none).toMatchObject({ status: 'NO_MATCHED_MESSAGE', messages: [], nextBeginOffset: 150 });
    expect(seenCodes).toBe(150);
    const onlyA: MessageFilter = { matchTagsCode: (c) => c === tagsCode('A') };
    const first = await store.getMessages('T', 0, 0, 200, { filter: onlyA });
    expect(bodies(first)).toEqual(range(120, 150).filter((_, i) => i % 2 === 0));
    expect(first.messages.every((m) => m.tag === 'A')).toBe(true);
    const some = await store.getMessages('T', 0, 100, 3, { filter: onlyA });
    expect(bodies(some)).toEqual(['m120', 'm122', 'm124']);
    expect(some.nextBeginOffset).toBe(125);
    const onlyB = await store.getMessages('T', 0, 110, 5, {
      filter: { matchTagsCode: (c) => c === tagsCode('B') },
    });
    expect(bodies(onlyB)).toEqual(range(110, 115));
    await store.close();
  });

  it('consume queue - matchMessage decides when tag hashes collide', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    expect(tagsCode('Aa')).toBe(tagsCode('BB'));
    await fill(store, 10, (i) => (i % 2 === 0 ? 'Aa' : 'BB'));
    const filter: MessageFilter = {
      matchTagsCode: (c) => c === tagsCode('BB'),
      matchMessage: (m) => m.tag === 'BB',
    };
    const r = await store.getMessages('T', 0, 0, 10, { filter });
    expect(bodies(r)).toEqual(['m1', 'm3', 'm5', 'm7', 'm9']);
    expect(r.nextBeginOffset).toBe(10);
    const hashOnly = await store.getMessages('T', 0, 0, 10, {
      filter: { matchTagsCode: filter.matchTagsCode },
    });
    expect(hashOnly.messages.length).toBe(10);
    await store.close();
  });

  it('consume queue - offsetByTime finds the first offset stored at or after a time', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    const res: PutMessageResult[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 3 + round; i++)
        res.push(await store.putMessage({ topic: 'T', queueId: 0, body: body(`r${round}`) }));
      await sleep(5);
    }
    const times = res.map((r) => r.storeTimestamp as number);
    expect(new Set(times).size).toBeGreaterThanOrEqual(5);
    const firstAtOrAfter = (t: number): number => {
      const i = times.findIndex((s) => s >= t);
      return i === -1 ? times.length : i;
    };
    for (const t of [...new Set(times)].flatMap((x) => [x - 1, x, x + 1])) {
      expect(await store.offsetByTime('T', 0, t), `time ${t}`).toBe(firstAtOrAfter(t));
    }
    expect(await store.offsetByTime('T', 0, 0)).toBe(0);
    expect(await store.offsetByTime('T', 0, Date.now() + 60_000)).toBe(res.length);
    expect(await store.offsetByTime('U', 0, 0)).toBe(0);
    await store.close();
  });

  it('consume queue - rebuilt from the commit log when its directory and the checkpoint are gone', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    const res: PutMessageResult[] = [];
    for (let i = 0; i < 400; i++)
      res.push(
        await store.putMessage({
          topic: i % 5 === 0 ? 'U' : 'T',
          queueId: i % 3,
          body: Buffer.alloc(100 + (i % 50) * 40, i),
          tag: `t${i % 4}`,
        }),
      );
    const queues = store.queues();
    const snapshot = async (s: MessageStore) => {
      const out: Record<string, string[]> = {};
      for (const q of queues) {
        const r = await s.getMessages(q.topic, q.queueId, 0, 1000);
        out[`${q.topic}-${q.queueId}`] = r.messages.map((m) => `${m.queueOffset}:${m.msgId}:${m.tag}`);
      }
      return out;
    };
    const before = await snapshot(store);
    await store.close();
    fs.rmSync(path.join(dir, 'consumequeue'), { recursive: true });
    fs.rmSync(path.join(dir, 'checkpoint'));
    const again = await MessageStore.open(opts(dir));
    expect(again.recovery).toMatchObject({ scannedFrom: 0, records: 400, corrupt: [] });
    expect(
      again.queues().sort((a, b) => `${a.topic}${a.queueId}`.localeCompare(`${b.topic}${b.queueId}`)),
    ).toEqual(queues.sort((a, b) => `${a.topic}${a.queueId}`.localeCompare(`${b.topic}${b.queueId}`)));
    expect(await snapshot(again)).toEqual(before);
    const tagB = await again.getMessages('T', 1, 0, 1000, {
      filter: { matchTagsCode: (c) => c === tagsCode('t1') },
    });
    expect(tagB.messages.length).toBeGreaterThan(0);
    expect(tagB.messages.every((m) => m.tag === 't1')).toBe(true);
    await again.close();
  });
});
