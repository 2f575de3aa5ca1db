import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, Delivery, Subscription } from '../../src/broker/index.js';
import { allocateAveragely } from '../../src/broker/index.js';
import { openBroker, sleep, until } from '../helpers/broker.js';

let broker: Broker;
afterEach(async () => {
  await broker?.close();
});

/** Collects a subscription's deliveries in the background; acks them unless told not to. */
function collect(sub: Subscription, opts: { ack?: boolean } = {}): { got: Delivery[]; done: Promise<void> } {
  const got: Delivery[] = [];
  const done = (async () => {
    for await (const d of sub) {
      got.push(d);
      if (opts.ack !== false) d.ack();
    }
  })();
  return { got, done };
}

const bodies = (ds: Delivery[]): string[] => ds.map((d) => d.message.body.toString());

describe('push', () => {
  it('allocate - averagely, as RocketMQ splits 9 queues over 4 consumers', () => {
    expect([0, 1, 2, 3].map((i) => allocateAveragely(9, 4, i))).toEqual([
      [0, 1, 2],
      [3, 4],
      [5, 6],
      [7, 8],
    ]);
    expect([0, 1, 2].map((i) => allocateAveragely(2, 3, i))).toEqual([[0], [1], []]);
  });

  it('clustering - 3 consumers split the messages, none goes to two of them', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 8 });
    const subs = [0, 1, 2].map((i) => broker.subscribe('G', 'T', { clientId: `c${i}` }));
    const cs = subs.map((s) => collect(s));
    const n = 300;
    for (let i = 0; i < n; i++) await broker.send('T', { body: `m${i}` });
    await until(() => cs.reduce((s, c) => s + c.got.length, 0) >= n);
    await sleep(50);
    const all = cs.flatMap((c) => bodies(c.got));
    expect(all).toHaveLength(n);
    expect(new Set(all).size).toBe(n);
    for (const c of cs) expect(c.got.length).toBeGreaterThan(0);
    // each consumer holds its own queues
    const queuesOf = cs.map((c) => new Set(c.got.map((d) => d.message.queueId)));
    for (let a = 0; a < 3; a++)
      for (let b = a + 1; b < 3; b++)
        expect([...(queuesOf[a] ?? [])].some((q) => queuesOf[b]?.has(q))).toBe(false);
    for (const s of subs) s.close();
  });

  it('clustering - when a consumer leaves, its queues move on: nothing lost, duplicates only of what it had not acked', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 4 });
    const a = broker.subscribe('G', 'T', { clientId: 'a' });
    const b = broker.subscribe('G', 'T', { clientId: 'b', credit: 5 });
    const ca = collect(a);
    const cb = collect(b, { ack: false }); // b takes 5 and never acks
    for (let i = 0; i < 100; i++) await broker.send('T', { body: `m${i}` });
    await until(() => cb.got.length === 5 && ca.got.length >= 40);
    const unacked = new Set(bodies(cb.got));
    b.close();
    await cb.done;
    await until(() => ca.got.length >= 100);
    await sleep(50);
    const seen = bodies(ca.got);
    expect(new Set(seen).size).toBe(100);
    const dupes = seen.length - new Set(seen).size;
    expect(dupes).toBe(0); // a never saw b's messages before, so none twice at a
    for (const u of unacked) expect(seen).toContain(u);
    expect(broker.getGroup('G')?.consumers.map((c) => c.clientId)).toEqual(['a']);
    a.close();
  });

  it('broadcasting - every consumer gets every message', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 4 });
    broker.upsertGroup('B', { consumeMode: 'BROADCASTING' });
    const subs = [0, 1, 2].map((i) => broker.subscribe('B', 'T', { clientId: `c${i}` }));
    const cs = subs.map((s) => collect(s));
    for (let i = 0; i < 50; i++) await broker.send('T', { body: `m${i}` });
    await until(() => cs.every((c) => c.got.length >= 50));
    await sleep(30);
    for (const c of cs) expect(new Set(bodies(c.got)).size).toBe(50);
    for (const c of cs) expect(c.got).toHaveLength(50);
    const offsets = await broker.offsets('B', 'T', { clientId: 'c1' });
    expect(offsets.reduce((s, q) => s + q.offset, 0)).toBe(50);
    await expect(broker.receive('B', { topic: 'T' })).rejects.toMatchObject({ code: 'MQ_ERR_GROUP_MODE' });
    for (const s of subs) s.close();
  });

  it('broadcasting - a nacked message is dropped and counted, not retried', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 1 });
    broker.upsertGroup('B', { consumeMode: 'BROADCASTING' });
    const sub = broker.subscribe('B', 'T', { clientId: 'c' });
    const c = collect(sub, { ack: false });
    await broker.send('T', { body: 'x' });
    await until(() => c.got.length === 1);
    expect(await c.got[0]?.nack()).toBe(true);
    await sleep(150);
    expect(c.got).toHaveLength(1);
    expect(broker.getGroup('B')?.stats.dropped).toBe(1);
    sub.close();
  });

  it('credit - a subscriber never has more than its credit unsettled', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 2 });
    const sub = broker.subscribe('G', 'T', { credit: 3 });
    const c = collect(sub, { ack: false });
    for (let i = 0; i < 20; i++) await broker.send('T', { body: `m${i}` });
    await until(() => c.got.length === 3);
    await sleep(100);
    expect(c.got).toHaveLength(3);
    expect(c.got[0]?.ack()).toBe(true);
    await until(() => c.got.length === 4);
    await sleep(50);
    expect(c.got).toHaveLength(4);
    sub.setCredit(10); // 3 unsettled: 7 more may come
    await until(() => c.got.length === 11);
    await sleep(50);
    expect(c.got).toHaveLength(11);
    sub.close();
  });

  it('heartbeat - a consumer not heard from expires and its queues go to the others', async () => {
    broker = await openBroker({ consumerExpiryMs: 200 });
    broker.upsertTopic('T', { queues: 2 });
    const quiet = broker.subscribe('G', 'T', { clientId: 'a-quiet' });
    const live = broker.subscribe('G', 'T', { clientId: 'b-live' });
    const timer = setInterval(() => live.heartbeat(), 20);
    const c = collect(live);
    // the list is queue 0, queue 1, then the retry queue: a-quiet holds 0 and 1, b-live the retries
    expect(quiet.queueIds).toEqual([0, 1]);
    expect([live.queueIds, live.retry]).toEqual([[], true]);
    await until(() => quiet.closed, 3000);
    expect([live.queueIds, live.retry]).toEqual([[0, 1], true]);
    for (let i = 0; i < 10; i++) await broker.send('T', { body: `m${i}` });
    await until(() => c.got.length === 10);
    clearInterval(timer);
    live.close();
  });

  it('push - settling twice is harmless and the iterator ends on close', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 1 });
    const sub = broker.subscribe('G', 'T');
    const c = collect(sub, { ack: false });
    await broker.send('T', { body: 'x' });
    await until(() => c.got.length === 1);
    const d = c.got[0] as Delivery;
    expect(d.ack()).toBe(true);
    expect(d.ack()).toBe(false);
    expect(await d.nack()).toBe(false);
    sub.close();
    await c.done;
    expect(sub.closed).toBe(true);
  });
});
