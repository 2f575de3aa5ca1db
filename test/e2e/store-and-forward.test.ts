/**
 * Store-and-forward across kill -9 of the gateway: messages accepted into the backlog (SEND_OK)
 * while the broker is down are all delivered once it is back after a restart on the same data
 * dir (a message may come twice, none is lost), each sharding key's in order. The `local-bare`
 * backend is kept down by the lock file of its log, written in the name of this (live) test
 * process; removing it brings the broker back at the next health check.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/client/index.js';
import { MqgateClient } from '../../src/client/index.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { spawnServe } from '../helpers/serve-process.js';
import { tmpDir } from '../helpers/tmp.js';

let proc: ServeProcess | undefined;
afterEach(async () => {
  proc?.child.kill('SIGKILL');
  await proc?.exited();
  proc = undefined;
});

const env = {
  MQGATE_GATEWAY_BACKENDS: '{"bare":{"type":"local-bare"}}',
  MQGATE_GATEWAY_ROUTES: '[{"topics":"*","backend":"bare","storeAndForward":true}]',
  MQGATE_GATEWAY_HEALTH_INTERVAL_MS: '200',
};

async function bare(c: MqgateClient): Promise<BackendInfo> {
  return (await c.backends()).backends.find((b) => b.name === 'bare') as BackendInfo;
}

describe('store-and-forward across kill -9', () => {
  it('store-and-forward - a backlog of SEND_OK messages survives kill -9 and is forwarded once the broker is back', async () => {
    const dataDir = tmpDir();
    const lock = path.join(dataDir, 'backends', 'bare', 'log', 'lock');
    fs.mkdirSync(path.dirname(lock), { recursive: true });
    fs.writeFileSync(lock, String(process.pid)); // the broker is down: its log is someone else's
    proc = await spawnServe(['--data-dir', dataDir], env);
    let c = new MqgateClient({ url: proc.url });
    // the topic is made on its first send, by the route (a topic's view needs the broker up)
    await c.upsertGroup('g', { consumeFrom: 'FIRST' });
    const body = (i: number): string => `k${i % 5}-${String(i).padStart(3, '0')}`;
    const send = async (i: number): Promise<void> => {
      const r = await c.send('Saf', { body: body(i), shardingKey: `k${i % 5}` });
      expect(r).toMatchObject({ status: 'SEND_OK', queueOffset: -1 });
    };
    for (let i = 0; i < 40; i++) await send(i);
    expect(await bare(c)).toMatchObject({ status: 'down', backlog: { messages: 40 } });
    proc.child.kill('SIGKILL');
    await proc.exited();

    proc = await spawnServe(['--data-dir', dataDir], env);
    c = new MqgateClient({ url: proc.url });
    expect((await bare(c)).backlog.messages).toBe(40);
    for (let i = 40; i < 50; i++) await send(i);
    fs.rmSync(lock); // the broker is back

    const bodies: string[] = [];
    const until = Date.now() + 30_000;
    while (new Set(bodies).size < 50 && Date.now() < until) {
      const { messages } = await c.receive('g', { topic: 'Saf', maxMessages: 32, waitSeconds: 1 });
      for (const m of messages) {
        bodies.push(String(m.body));
        await c.ack('g', 'Saf', m.receiptHandle ?? '');
      }
    }
    const expected = Array.from({ length: 50 }, (_, i) => body(i));
    expect([...new Set(bodies)].sort()).toEqual(expected.sort());
    // per key, first arrivals in the order sent
    for (let k = 0; k < 5; k++) {
      const firsts = [...new Set(bodies.filter((b) => b.startsWith(`k${k}-`)))];
      expect(firsts).toEqual([...firsts].sort());
    }
    let after = await bare(c);
    while (after.backlog.messages > 0 && Date.now() < until) after = await bare(c);
    expect(after).toMatchObject({ status: 'up', backlog: { messages: 0 } });
    expect(after.backlog.forwarded).toBe(50);
  }, 90_000);
});
