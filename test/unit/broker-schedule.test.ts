import v8 from 'node:v8';
import vm from 'node:vm';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, ReceivedMessage } from '../../src/broker/index.js';
import { openBroker, sleep, until } from '../helpers/broker.js';
import { tmpDir } from '../helpers/tmp.js';

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

/** Test delay levels: level N = N * 20 ms. */
const levelMs = (n: number): number => n * 20;

/** Receives everything that arrives on `topic` for `ms`, acking it, with arrival times. */
async function collect(b: Broker, group: string, topic: string, ms: number, stopAt = Infinity) {
  const got: { m: ReceivedMessage; at: number }[] = [];
  const end = Date.now() + ms;
  while (Date.now() < end && got.length < stopAt) {
    for (const m of await b.receive(group, { topic, waitMs: Math.max(1, Math.min(200, end - Date.now())) })) {
      got.push({ m, at: Date.now() });
      b.ack(group, topic, m.receiptHandle);
    }
  }
  return got;
}

describe('schedule', () => {
  it('schedule - each level fires in order and not early', async () => {
    const b = (broker = await openBroker());
    b.upsertTopic('T', { queues: 1 }); // one queue: the order of arrival is the order of delivery
    b.upsertGroup('G');
    await b.receive('G', { topic: 'T' }); // fix the group's start before sending
    const sent = new Map<string, { level: number; at: number }>();
    for (let i = 0; i < 40; i++) {
      const level = 1 + (i % 5);
      const at = Date.now();
      const r = await b.send('T', { body: `m${i}`, delayLevel: level });
      expect(r).toMatchObject({ status: 'SEND_OK', topic: 'T', queueOffset: -1 });
      sent.set(`m${i}`, { level, at });
    }
    expect(
      b
        .scheduleStats()
        .levels.slice(0, 5)
        .reduce((x, y) => x + y, 0),
    ).toBeGreaterThan(0);
    const got = await collect(b, 'G', 'T', 3000, 40);
    expect(got).toHaveLength(40);
    for (const { m, at } of got) {
      const s = sent.get(m.body.toString());
      if (s === undefined) throw new Error('unknown message');
      expect(at - s.at).toBeGreaterThanOrEqual(levelMs(s.level) - 2); // never early
      expect(m.properties.REAL_TOPIC).toBe('T');
      expect(m.properties.DELAY).toBeUndefined();
    }
    // within a level, in the order sent
    for (let level = 1; level <= 5; level++) {
      const order = got
        .filter(({ m }) => sent.get(m.body.toString())?.level === level)
        .map(({ m }) => m.body.toString());
      const expected = [...sent].filter(([, s]) => s.level === level).map(([k]) => k);
      expect(order).toEqual(expected);
    }
    expect(b.scheduleStats().lateness.count).toBe(40);
  });

  it('schedule - a level above the last is the last; below 1 is refused', async () => {
    const b = (broker = await openBroker());
    b.upsertGroup('G');
    b.upsertTopic('T', { queues: 1 });
    await b.receive('G', { topic: 'T' });
    const t = Date.now();
    const r = await b.send('T', { body: 'x', delayLevel: 99 });
    expect((r.deliverAt ?? 0) - t).toBeGreaterThanOrEqual(levelMs(18) - 2);
    await expect(b.send('T', { body: 'x', delayLevel: 0 })).rejects.toMatchObject({
      code: 'MQ_ERR_DELAY_LEVEL_INVALID',
    });
    const [got] = await collect(b, 'G', 'T', 2000, 1);
    expect((got?.at ?? 0) - t).toBeGreaterThanOrEqual(levelMs(18) - 2);
  });

  it('timer - deliverAt fires at its time and not before; a past time delivers at once; too far is refused', async () => {
    const b = (broker = await openBroker({ maxTimerDelayMs: 60_000 }));
    b.upsertTopic('T', { queues: 1 });
    b.upsertGroup('G');
    await b.receive('G', { topic: 'T' });
    const now = Date.now();
    const past = await b.send('T', { body: 'past', deliverAt: now - 1000 });
    expect(past.queueOffset).toBe(0); // written straight to its topic
    const dues = [400, 160, 280, 220];
    for (const [i, d] of dues.entries()) await b.send('T', { body: `d${i}`, deliverAt: now + d });
    await expect(b.send('T', { body: 'x', deliverAt: now + 120_000 })).rejects.toMatchObject({
      code: 'MQ_ERR_DELIVER_AT_INVALID',
    });
    await expect(b.send('T', { body: 'x', deliverAt: 1.5 })).rejects.toMatchObject({
      code: 'MQ_ERR_DELIVER_AT_INVALID',
    });
    const got = await collect(b, 'G', 'T', 2000, 5);
    expect(got.map(({ m }) => m.body.toString())).toEqual(['past', 'd1', 'd3', 'd2', 'd0']);
    for (const { m, at } of got.slice(1)) {
      const due = now + (dues[Number(m.body.toString().slice(1))] as number);
      expect(at).toBeGreaterThanOrEqual(due - 1);
    }
    expect(b.scheduleStats().lateness.max).toBeLessThan(1000);
  });

  it('timer - timers pending across kill -9 of the process fire exactly once', async () => {
    const fixture = path.resolve(import.meta.dirname, '../fixtures/timer-crash.ts');
    for (let cycle = 0; cycle < 3; cycle++) {
      const dataDir = tmpDir('broker');
      const count = 300;
      await new Promise<void>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', fixture, dataDir, String(count)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        child.stdout.on('data', (d: Buffer) => {
          if (d.toString().includes('sent')) setTimeout(() => child.kill('SIGKILL'), 150 + cycle * 150);
        });
        child.on('error', reject);
        child.on('exit', () => resolve());
      });
      const b = (broker = await openBroker({ dataDir }));
      b.upsertGroup('G', { consumeFrom: 'FIRST' });
      await until(() => b.scheduleStats().timers === 0, 10_000);
      await sleep(100);
      const got = await collect(b, 'G', 'T', 1500);
      const bodies = got.map(({ m }) => m.body.toString());
      expect(new Set(bodies).size).toBe(count); // none lost
      expect(bodies).toHaveLength(count); // none twice
      await b.close();
      broker = undefined;
    }
  });
});

describe('schedule memory', () => {
  it('timer - 100k pending timers cost the index, not the messages (they stay on disk)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const dataDir = tmpDir('broker');
    let b = await openBroker({ dataDir, store: { segmentSize: 64 * 1024 * 1024 } });
    b.upsertTopic('T', { queues: 4 });
    const due = Date.now() + 3_600_000;
    const body = Buffer.alloc(1024, 'x');
    for (let i = 0; i < 100_000; i += 1000)
      await Promise.all(Array.from({ length: 1000 }, () => b.send('T', { body, deliverAt: due })));
    await b.close();
    gc();
    const before = process.memoryUsage();
    broker = b = await openBroker({ dataDir, store: { segmentSize: 64 * 1024 * 1024 } });
    await until(() => b.scheduleStats().timers === 100_000, 20_000);
    gc();
    const after = process.memoryUsage();
    const grewMB = (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / 1e6;
    // 100k messages of 1 KiB are ~110 MB on disk; the index is 16 bytes each (1.6 MB)
    expect(grewMB).toBeLessThan(24);
  });
});
