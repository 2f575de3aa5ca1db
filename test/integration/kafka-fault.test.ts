/**
 * Kafka fault test: the broker process is stopped for 10 s (then started again on its data, a
 * restart of some seconds more) in the middle of a 30 s publish/consume run through the
 * gateway. No confirmed message is lost, sends during the outage fail fast (503, never hang),
 * and the push consumer resumes by itself; with store-and-forward on the topic's route, sends
 * keep succeeding through the outage and everything arrives after it, in per-key order.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/cli/serve.js';
import { startServer } from '../../src/cli/serve.js';
import { MqgateClient } from '../../src/client/index.js';
import { merge, validateConfig } from '../../src/config/load.js';
import { brokerOutage } from '../helpers/broker-outage.js';
import { arrivalOrder, faultRun, lost } from '../helpers/fault-run.js';
import { brokerAddress, uniqueName } from './brokers.js';

describe('kafka fault', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-kafka-fault-'));
  let running: Running;

  beforeAll(async () => {
    running = await startServer(
      validateConfig(
        merge(
          {
            server: { host: '127.0.0.1', port: 0 },
            store: { dataDir },
            log: { level: 'error', pretty: false },
            gateway: {
              backends: { kafka: { type: 'kafka', brokers: brokerAddress('kafka').split(',') } },
              routes: [{ topics: 't-*-saf-*', backend: 'kafka', storeAndForward: true }],
              healthIntervalMs: 500,
            },
          },
          {},
        ),
      ),
    );
  });

  afterAll(async () => {
    await running?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('fault - Kafka away for 10 s of a 30 s run: no confirmed message lost, sends fail fast, the consumer resumes', async () => {
    const c = new MqgateClient({ url: running.url });
    const topic = uniqueName('fault');
    const group = uniqueName('fault-g');
    await c.upsertTopic(topic, { queues: 4, backend: 'kafka' });
    await c.upsertGroup(group, { consumeFrom: 'LAST' });
    // the push subscription fixes the group's start before it is answered
    const run = await faultRun({
      url: running.url,
      topic,
      group,
      seconds: 30,
      outageAt: 10,
      outage: () => brokerOutage('kafka', 10),
    });
    console.log(
      `fault run: ${run.confirmed.size} confirmed, ${run.failed} failed sends, ${run.received.length} deliveries`,
    );
    expect(run.failed).toBeGreaterThan(0); // the outage was real
    expect(run.slowestFailureMs).toBeLessThan(5000);
    expect(run.confirmed.size).toBeGreaterThan(100);
    expect(lost(run)).toEqual([]);
    // deliveries after the outage: the consumer came back without help
    const last = [...run.confirmed.keys()].at(-1);
    expect(run.received.some((m) => m.msgId === last)).toBe(true);
    await c.deleteTopic(topic);
  }, 120_000);

  it('fault - with store-and-forward, sends succeed through the outage and all arrive after it in per-key order', async () => {
    const c = new MqgateClient({ url: running.url });
    const topic = uniqueName('fault-saf-q');
    const group = uniqueName('fault-saf-g');
    await c.upsertTopic(topic, { queues: 4, backend: 'kafka' });
    await c.upsertGroup(group, { consumeFrom: 'LAST' });
    const run = await faultRun({
      url: running.url,
      topic,
      group,
      seconds: 30,
      outageAt: 10,
      outage: () => brokerOutage('kafka', 10),
      drainMs: 40_000,
    });
    console.log(
      `store-and-forward run: ${run.confirmed.size} confirmed, ${run.failed} failed, ${run.received.length} deliveries`,
    );
    expect(run.failed).toBe(0);
    expect(lost(run)).toEqual([]);
    for (const [key, seqs] of arrivalOrder(run)) expect(seqs, key).toEqual([...seqs].sort((x, y) => x - y));
    expect((await c.backends()).backends.find((b) => b.name === 'kafka')?.backlog?.messages).toBe(0);
    await c.deleteTopic(topic);
  }, 150_000);
});
