import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, Subscription } from '../../src/broker/index.js';
import { shardingQueue } from '../../src/broker/index.js';
import { openBroker, sleep, until } from '../helpers/broker.js';

let broker: Broker;
afterEach(async () => {
  await broker?.close();
});

describe('orderly', () => {
  it('orderly - per-key order holds with 10 keys x 8 concurrent producers and 2 consumers that sometimes fail', async () => {
    broker = await openBroker();
    broker.upsertTopic('Orders', { queues: 4 });
    broker.upsertGroup('OG', { orderly: true, suspendMs: 20, consumeFrom: 'FIRST' });
    const keys = Array.from({ length: 10 }, (_, i) => `order-${i}`);
    const perProducer = 30;
    const sent = new Map<string, string[]>(); // key -> bodies in send-acknowledged order
    await Promise.all(
      Array.from({ length: 8 }, async (_, p) => {
        for (let i = 0; i < perProducer; i++) {
          const key = keys[(p + i) % keys.length] as string;
          const body = `${key}|p${p}|${i}`;
          await broker.send('Orders', { body, shardingKey: key });
          (sent.get(key) ?? sent.set(key, []).get(key))?.push(body);
        }
      }),
    );
    const total = 8 * perProducer;
    const consumed = new Map<string, string[]>();
    let failures = 0;
    const busy = new Set<number>(); // queues being processed now
    let overlap = false;
    const run = async (sub: Subscription): Promise<void> => {
      for await (const d of sub) {
        const body = d.message.body.toString();
        const q = d.message.queueId;
        if (busy.has(q)) overlap = true; // a queue's next message came before this one was settled
        busy.add(q);
        await sleep(Math.random() < 0.1 ? 3 : 0);
        busy.delete(q);
        if (Math.random() < 0.05 && failures < 20) {
          failures++;
          await d.nack();
          continue;
        }
        const key = body.split('|')[0] as string;
        (consumed.get(key) ?? consumed.set(key, []).get(key))?.push(body);
        d.ack();
      }
    };
    const subs = [
      broker.subscribe('OG', 'Orders', { clientId: 'c1' }),
      broker.subscribe('OG', 'Orders', { clientId: 'c2' }),
    ];
    const runs = subs.map((s) => run(s));
    await until(() => [...consumed.values()].reduce((s, l) => s + l.length, 0) >= total, 20_000);
    for (const s of subs) s.close();
    await Promise.all(runs);
    expect(overlap).toBe(false);
    for (const key of keys) expect(consumed.get(key)).toEqual(sent.get(key));
    expect(failures).toBeGreaterThan(0);
  });

  it("orderly - a queue's next message waits for the ack; a nack suspends and redelivers the same one", async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 1 });
    broker.upsertGroup('OG', { orderly: true, suspendMs: 100, consumeFrom: 'FIRST' });
    for (let i = 0; i < 3; i++) await broker.send('T', { body: `m${i}` });
    const [first, ...rest] = await broker.receive('OG', { topic: 'T', maxMessages: 32 });
    expect(rest).toHaveLength(0);
    expect(first?.body.toString()).toBe('m0');
    expect(await broker.receive('OG', { topic: 'T' })).toHaveLength(0);
    expect(await broker.nack('OG', 'T', first?.receiptHandle ?? '')).toBe('SUSPENDED');
    const nackedAt = Date.now();
    expect(await broker.receive('OG', { topic: 'T' })).toHaveLength(0);
    const again = await broker.receive('OG', { topic: 'T', waitMs: 2000 });
    expect(Date.now() - nackedAt).toBeGreaterThanOrEqual(95);
    expect(again.map((m) => [m.body.toString(), m.deliveryAttempt])).toEqual([['m0', 2]]);
    broker.ack('OG', 'T', again[0]?.receiptHandle ?? '');
    const next = await broker.receive('OG', { topic: 'T' });
    expect(next.map((m) => m.body.toString())).toEqual(['m1']);
  });

  it('orderly - with maxReconsumeTimes set, a message that keeps failing goes to the DLQ and the queue moves on', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 1 });
    broker.upsertGroup('OG', { orderly: true, suspendMs: 10, maxReconsumeTimes: 2, consumeFrom: 'FIRST' });
    await broker.send('T', { body: 'bad' });
    await broker.send('T', { body: 'good' });
    const attempts: number[] = [];
    for (;;) {
      const [m] = await broker.receive('OG', { topic: 'T', waitMs: 1000 });
      if (m === undefined) throw new Error('nothing came');
      if (m.body.toString() === 'good') break;
      attempts.push(m.deliveryAttempt);
      await broker.nack('OG', 'T', m.receiptHandle);
    }
    expect(attempts).toEqual([1, 2, 3]);
    const dlq = await broker.deadLetters('OG');
    expect(dlq.map((m) => m.body.toString())).toEqual(['bad']);
  });

  it('sharding - a key always lands on the same queue, as RocketMQ 5 computes it', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 8 });
    for (const key of ['order-42', 'key-1', 'user:7']) {
      const r = await broker.send('T', { body: 'x', shardingKey: key });
      expect(r.queueId).toBe(shardingQueue(key, 8));
    }
  });
});
