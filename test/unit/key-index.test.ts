import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MqgateError } from '../../src/errors.js';
import { newMsgId } from '../../src/message/msg-id.js';
import { MessageStore } from '../../src/store/index.js';
import type { PutMessageResult, StoreOptions } from '../../src/store/index.js';
import { body, tmpDir } from '../helpers/tmp.js';

function opts(dir: string, more: Partial<StoreOptions> = {}): StoreOptions {
  return {
    dataDir: dir,
    segmentSize: 64 * 1024,
    maxMessageSize: 8 * 1024,
    indexSlots: 64,
    indexEntries: 200,
    ...more,
  };
}

async function put(store: MessageStore, n: number, topic = 'T', keyMod = 7): Promise<PutMessageResult[]> {
  const out: PutMessageResult[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      await store.putMessage({
        topic,
        queueId: i % 2,
        body: body(`${topic}${i}`),
        keys: [`k${i % keyMod}`, `u${i}`],
      }),
    );
  return out;
}

const indexFiles = (dir: string): string[] => fs.readdirSync(path.join(dir, 'index')).sort();

async function expectAllFound(store: MessageStore, res: PutMessageResult[], topic = 'T'): Promise<void> {
  for (const [i, r] of res.entries()) {
    const m = await store.getByMsgId(r.msgId as string);
    expect(m?.body.toString(), `message ${i}`).toBe(`${topic}${i}`);
    expect(m?.commitLogOffset).toBe(r.commitLogOffset);
  }
}

describe('key index', () => {
  it('key index - getByMsgId finds every message across index files, also after reopening', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    const res = await put(store, 300);
    // 3 entries per message, 200 per file
    expect(indexFiles(dir).length).toBeGreaterThanOrEqual(4);
    indexFiles(dir).forEach((n) => expect(n).toMatch(/^\d{20}$/));
    await expectAllFound(store, res);
    expect((await store.getByMsgId((res[5]?.msgId as string).toLowerCase()))?.body.toString()).toBe('T5');
    await store.close();
    const again = await MessageStore.open(opts(dir));
    await expectAllFound(again, res);
    // and the index keeps growing after reopening
    const more = await put(again, 50, 'U');
    await expectAllFound(again, more, 'U');
    await expectAllFound(again, res);
    await again.close();
  });

  it('key index - keys sharing one slot still return only exact matches', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir, { indexSlots: 1, indexEntries: 10_000 }));
    const res = await put(store, 105);
    await expectAllFound(store, res);
    for (let k = 0; k < 7; k++) {
      const got = await store.queryByKey('T', `k${k}`, { max: 100 });
      expect(got.map((m) => m.body.toString())).toEqual(
        res
          .map((_, i) => i)
          .filter((i) => i % 7 === k)
          .map((i) => `T${i}`),
      );
    }
    expect((await store.queryByKey('T', 'u17')).map((m) => m.body.toString())).toEqual(['T17']);
    expect(await store.queryByKey('T', 'k7')).toEqual([]);
    expect(await store.queryByKey('T', 'u1')).toHaveLength(1);
    await store.close();
  });

  it('key index - queryByKey keeps to its topic, time range and limit', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    const t: PutMessageResult[] = [];
    for (let round = 0; round < 4; round++) {
      t.push(await store.putMessage({ topic: 'T', queueId: 0, body: body(`T${round}`), keys: ['order-1'] }));
      await store.putMessage({ topic: 'U', queueId: 0, body: body(`U${round}`), keys: ['order-1'] });
      await sleep(5);
    }
    const all = await store.queryByKey('T', 'order-1');
    expect(all.map((m) => m.body.toString())).toEqual(['T0', 'T1', 'T2', 'T3']);
    expect((await store.queryByKey('U', 'order-1')).map((m) => m.topic)).toEqual(['U', 'U', 'U', 'U']);
    expect(await store.queryByKey('V', 'order-1')).toEqual([]);
    const ts = t.map((r) => r.storeTimestamp as number);
    const mid = await store.queryByKey('T', 'order-1', { begin: ts[1], end: ts[2] });
    expect(mid.map((m) => m.body.toString())).toEqual(['T1', 'T2']);
    const after = await store.queryByKey('T', 'order-1', { begin: (ts[2] as number) + 1 });
    expect(after.map((m) => m.body.toString())).toEqual(['T3']);
    const before = await store.queryByKey('T', 'order-1', { end: (ts[1] as number) - 1 });
    expect(before.map((m) => m.body.toString())).toEqual(['T0']);
    // the newest ones, oldest first
    const two = await store.queryByKey('T', 'order-1', { max: 2 });
    expect(two.map((m) => m.body.toString())).toEqual(['T2', 'T3']);
    await store.close();
  });

  it('key index - an unknown msgId is undefined and an invalid one is refused', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    await put(store, 10);
    expect(await store.getByMsgId(newMsgId())).toBeUndefined();
    expect(await store.getByMsgId('0'.repeat(32))).toBeUndefined();
    for (const bad of ['', 'not-an-id', '0'.repeat(31), 'Z'.repeat(32)]) {
      const err = await store.getByMsgId(bad).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MqgateError);
      expect((err as MqgateError).code).toBe('MQ_ERR_MSGID_INVALID');
    }
    await store.close();
  });

  it('key index - a given msgId is kept and found', async () => {
    const store = await MessageStore.open(opts(tmpDir()));
    const id = newMsgId();
    const r = await store.putMessage({ topic: 'T', queueId: 0, body: body('mine'), msgId: id });
    expect(r.msgId).toBe(id);
    expect((await store.getByMsgId(id))?.body.toString()).toBe('mine');
    await store.close();
  });

  it('key index - rebuilt from the commit log when its directory and the checkpoint are gone', async () => {
    const dir = tmpDir();
    const store = await MessageStore.open(opts(dir));
    const res = await put(store, 250);
    const counts = [];
    for (let k = 0; k < 7; k++) counts.push((await store.queryByKey('T', `k${k}`, { max: 100 })).length);
    await store.close();
    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    fs.rmSync(path.join(dir, 'checkpoint'));
    const again = await MessageStore.open(opts(dir));
    expect(again.recovery).toMatchObject({ scannedFrom: 0, records: 250 });
    expect(indexFiles(dir).length).toBeGreaterThanOrEqual(3);
    await expectAllFound(again, res);
    for (let k = 0; k < 7; k++)
      expect((await again.queryByKey('T', `k${k}`, { max: 100 })).length).toBe(counts[k]);
    await again.close();
    // only the index gone: the checkpoint still covers the queues, the index alone is replayed
    fs.rmSync(path.join(dir, 'index'), { recursive: true });
    const third = await MessageStore.open(opts(dir));
    expect(third.recovery).toMatchObject({ scannedFrom: 0, consumeQueueEntriesReplaced: 0 });
    await expectAllFound(third, res);
    expect((await third.getMessages('T', 0, 0, 1000)).messages.length).toBe(125);
    await third.close();
  });
});
