import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MessageStore } from '../../src/store/index.js';
import { body, tmpDir } from '../helpers/tmp.js';

describe('store', () => {
  it('store - append then read by queue offset, msgId and key', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open({ dataDir: dir, segmentSize: 64 * 1024, maxMessageSize: 1024 });
    const results = [];
    for (let i = 0; i < 500; i++) {
      results.push(
        await store.putMessage({
          topic: 'T',
          queueId: i % 2,
          body: body(`m${i}`),
          tag: 'A',
          keys: [`k${i % 10}`],
        }),
      );
    }
    expect(results.every((r) => r.status === 'PUT_OK')).toBe(true);
    const got = await store.getMessages('T', 0, 0, 32);
    expect(got.status).toBe('FOUND');
    expect(got.messages.length).toBe(32);
    expect(got.messages[3]?.body.toString()).toBe('m6');
    const byId = await store.getByMsgId(results[77]?.msgId as string);
    expect(byId?.body.toString()).toBe('m77');
    const byKey = await store.queryByKey('T', 'k3');
    expect(byKey.length).toBe(50);
    await store.close();
    const again = await MessageStore.open({ dataDir: dir, segmentSize: 64 * 1024, maxMessageSize: 1024 });
    expect(again.maxOffset('T', 1)).toBe(250);
    expect((await again.getByMsgId(results[499]?.msgId as string))?.body.toString()).toBe('m499');
    await again.close();
  });
});

describe('store - a record in two queues (multi-dispatch)', () => {
  it('store - dispatchAlso gives the one record an entry in queue 0 of a second topic, rebuilt from the log after a crash', async () => {
    const dir = tmpDir();
    const opts = { dataDir: dir, segmentSize: 64 * 1024, maxMessageSize: 1024 };
    let store = await MessageStore.open(opts);
    for (let i = 0; i < 10; i++) {
      const r = await store.putMessage({
        topic: 'T',
        queueId: 1,
        body: body(`m${i}`),
        ...(i % 2 === 1 ? { dispatchAlso: 'ALSO' } : {}),
      });
      expect(r).toMatchObject({ status: 'PUT_OK', queueOffset: i });
    }
    const check = async (s: MessageStore): Promise<void> => {
      expect([s.maxOffset('T', 1), s.maxOffset('ALSO', 0)]).toEqual([10, 5]);
      const own = await s.getMessages('T', 1, 0, 32);
      const also = await s.getMessages('ALSO', 0, 0, 32);
      expect(own.messages.map((m) => m.body.toString())).toHaveLength(10);
      expect(also.corrupted).toEqual([]);
      // the same records, read through the second queue: they keep their own topic and queue
      expect(also.messages.map((m) => [m.body.toString(), m.topic, m.queueOffset])).toEqual(
        [1, 3, 5, 7, 9].map((i) => [`m${i}`, 'T', i]),
      );
      expect(also.messages.map((m) => m.commitLogOffset)).toEqual(
        own.messages.filter((_, i) => i % 2 === 1).map((m) => m.commitLogOffset),
      );
    };
    await check(store);
    await store.close();
    // lose every ConsumeQueue and the checkpoint: both queues come back from the log
    fs.rmSync(path.join(dir, 'consumequeue'), { recursive: true });
    fs.rmSync(path.join(dir, 'checkpoint'));
    store = await MessageStore.open(opts);
    await check(store);
    const next = await store.putMessage({ topic: 'T', queueId: 1, body: body('m10'), dispatchAlso: 'ALSO' });
    expect(next).toMatchObject({ status: 'PUT_OK', queueOffset: 10 });
    expect(store.maxOffset('ALSO', 0)).toBe(6);
    await store.close();
  });
});

describe('store - arrivals', () => {
  it('store - onArrival tells each topic-queue of a write round once, however many queues it touched', async () => {
    const store = await MessageStore.open({ dataDir: tmpDir() });
    const heard: string[] = [];
    const stop = store.onArrival((topic, queueId) => heard.push(`${topic}:${queueId}`));
    // one round: 3 records in each of 40 queues (more than are told apart by comparison)
    const msgs = [];
    for (let r = 0; r < 3; r++)
      for (let q = 0; q < 40; q++)
        msgs.push({ topic: q % 2 === 0 ? 'Even' : 'Odd', queueId: q, body: body(`${r}`) });
    const results = await store.putMessages(msgs);
    expect(results.every((x) => x.status === 'PUT_OK')).toBe(true);
    const expected = Array.from({ length: 40 }, (_, q) => `${q % 2 === 0 ? 'Even' : 'Odd'}:${q}`);
    expect([...heard].sort()).toEqual([...expected].sort());
    stop();
    await store.putMessage({ topic: 'Even', queueId: 0, body: body('x') });
    expect(heard.length).toBe(40);
    await store.close();
  });
});
