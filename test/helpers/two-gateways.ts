/**
 * Two gateway processes (each its own data dir) in front of one remote broker, naming each other
 * in cluster.peers, as the instances tests of every remote backend need: `twoGateways()` starts
 * both before the file's tests and stops them after, deleting the topics made through `shared()`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Message } from '../../src/client/index.js';
import { MqgateClient } from '../../src/client/index.js';
import { uniqueName } from '../integration/brokers.js';
import { freePorts } from './ports.js';
import type { ServeProcess } from './serve-process.js';
import { spawnServe } from './serve-process.js';

export interface TwoGateways {
  /** A client of the first gateway (gw-a), and of the second (gw-b). */
  ca(): MqgateClient;
  cb(): MqgateClient;
  readonly a: () => ServeProcess;
  readonly b: () => ServeProcess;
  /**
   * The same topic and group on both (each keeps its own registry), both consuming from here on
   * (`onlyA`: only gw-a for now).
   */
  shared(name: string, o?: { onlyA?: boolean }): Promise<{ topic: string; group: string }>;
}

/** `gateway`: the config section that routes `t-*` to the broker. */
export function twoGateways(gateway: Record<string, unknown>): TwoGateways {
  const dirs: string[] = [];
  const topics: string[] = [];
  let a: ServeProcess | undefined;
  let b: ServeProcess | undefined;

  async function instance(id: string, port: number, peers: Record<string, string>): Promise<ServeProcess> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mqgate-${id}-`));
    dirs.push(dir);
    const config = {
      server: { host: '127.0.0.1', port },
      store: { dataDir: path.join(dir, 'data') },
      log: { level: 'info' },
      broker: { minInvisibleMs: 100 },
      gateway: { ...gateway, popCredit: 16 },
      cluster: { instanceId: id, peers },
    };
    fs.writeFileSync(path.join(dir, 'mqgate.json'), JSON.stringify(config));
    return spawnServe(['--config', path.join(dir, 'mqgate.json'), '--port', String(port)]);
  }

  beforeAll(async () => {
    const [pa, pb] = (await freePorts(2)) as [number, number];
    const peers = { 'gw-a': `http://127.0.0.1:${pa}`, 'gw-b': `http://127.0.0.1:${pb}` };
    const started = await Promise.allSettled([instance('gw-a', pa, peers), instance('gw-b', pb, peers)]);
    for (const r of started)
      if (r.status === 'fulfilled' && started.some((x) => x.status === 'rejected')) r.value.child.kill();
    const failed = started.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    [a, b] = started.map((r) => (r as PromiseFulfilledResult<ServeProcess>).value);
  });

  afterAll(async () => {
    for (const p of [a, b])
      for (const t of topics)
        if (p !== undefined) await new MqgateClient({ url: p.url }).deleteTopic(t).catch(() => undefined);
    for (const p of [a, b]) p?.child.kill('SIGTERM');
    await Promise.all([a?.exited(), b?.exited()]);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  const started = (p: ServeProcess | undefined): ServeProcess => {
    if (p === undefined) throw new Error('the two gateways are not started');
    return p;
  };
  const gw: TwoGateways = {
    a: () => started(a),
    b: () => started(b),
    ca: () => new MqgateClient({ url: started(a).url }),
    cb: () => new MqgateClient({ url: started(b).url }),
    async shared(name, o = {}) {
      const topic = uniqueName(name);
      const group = uniqueName(`${name}-g`);
      topics.push(topic);
      for (const c of [gw.ca(), gw.cb()]) {
        await c.upsertTopic(topic, { queues: 4 });
        await c.upsertGroup(group, { consumeFrom: 'LAST' });
      }
      for (const c of o.onlyA === true ? [gw.ca()] : [gw.ca(), gw.cb()])
        await c.receive(group, { topic, waitSeconds: 0 }); // consumes from here on
      return { topic, group };
    },
  };
  return gw;
}

/** Receives and acks on one gateway into `got` until `stop()`. */
export async function consumeUntil(
  c: MqgateClient,
  group: string,
  topic: string,
  got: Message[],
  stop: () => boolean,
): Promise<void> {
  while (!stop()) {
    const { messages } = await c.receive(group, { topic, maxMessages: 8, waitSeconds: 1 });
    for (const m of messages) {
      got.push(m);
      await c.ack(group, topic, m.receiptHandle ?? '');
    }
  }
}
