/**
 * Retries and dead letters kept by Kafka: a nack writes the message's copy to the group's retry
 * topic (a partition per delay level) with RocketMQ's retry properties, and past
 * maxReconsumeTimes to the group's DLQ topic with the DLQ properties. They live on the broker,
 * not in a gateway: a retry nacked on one gateway comes back through another that never saw it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/cli/serve.js';
import { startServer } from '../../src/cli/serve.js';
import type { Message } from '../../src/client/index.js';
import { MqgateClient } from '../../src/client/index.js';
import { validateConfig } from '../../src/config/load.js';
import { brokerAddress, eventually, uniqueName } from './brokers.js';

const STEP_MS = 100; // delay level n waits n x 100 ms
const dirs: string[] = [];

async function gateway(): Promise<Running> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-kafka-retry-'));
  dirs.push(dataDir);
  return startServer(
    validateConfig({
      server: { host: '127.0.0.1', port: 0 },
      store: { dataDir },
      log: { level: 'error', pretty: false },
      broker: { delayLevels: Array.from({ length: 18 }, (_, i) => `${(i + 1) * STEP_MS}ms`).join(' ') },
      gateway: { backends: { kafka: { type: 'kafka', brokers: brokerAddress('kafka').split(',') } } },
    }),
  );
}

/** The next message of the group, waiting up to `ms`. */
async function next(c: MqgateClient, group: string, topic: string, ms = 15_000): Promise<Message> {
  return eventually('a message', ms, async () => {
    const { messages } = await c.receive(group, { topic, maxMessages: 1, waitSeconds: 1 });
    return messages[0];
  });
}

describe('kafka retry topics', () => {
  const running: Running[] = [];

  afterAll(async () => {
    for (const r of running) await r.stop().catch(() => undefined);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('kafka retry - copies go to the retry topic by level, then to the DLQ topic, with RocketMQ properties', async () => {
    const gw = await gateway();
    running.push(gw);
    const c = new MqgateClient({ url: gw.url });
    const topic = uniqueName('retry');
    const group = uniqueName('retry-g');
    await c.upsertTopic(topic, { queues: 2, backend: 'kafka' });
    await c.upsertGroup(group, { consumeFrom: 'FIRST', maxReconsumeTimes: 2, retryDelayLevels: [2, 5] });
    const sent = await c.send(topic, { body: 'fails', tag: 'pay', keys: ['k-1'], shardingKey: 'k-1' });

    const first = await next(c, group, topic);
    const at = Date.now();
    expect((await c.nack(group, topic, first.receiptHandle ?? '')).outcome).toBe('RETRY');
    const second = await next(c, group, topic);
    expect(Date.now() - at).toBeGreaterThanOrEqual(2 * STEP_MS - 20);
    expect(second).toMatchObject({
      msgId: sent.msgId,
      queueId: sent.queueId,
      deliveryAttempt: 2,
      tag: 'pay',
    });
    expect(second.properties).toMatchObject({
      RETRY_TOPIC: topic,
      ORIGIN_MESSAGE_ID: sent.msgId,
      RECONSUME_TIME: '1',
    });
    expect((await c.nack(group, topic, second.receiptHandle ?? '')).outcome).toBe('RETRY');
    const third = await next(c, group, topic);
    expect(third).toMatchObject({ msgId: sent.msgId, deliveryAttempt: 3 });
    expect((await c.nack(group, topic, third.receiptHandle ?? '')).outcome).toBe('DLQ');

    const dlq = await c.deadLetters(group);
    expect(dlq.messages).toHaveLength(1);
    expect(dlq.messages[0]).toMatchObject({ msgId: sent.msgId, keys: ['k-1'], tag: 'pay' });
    expect(dlq.messages[0]?.properties).toMatchObject({
      DLQ_ORIGIN_TOPIC: topic,
      DLQ_ORIGIN_MESSAGE_ID: sent.msgId,
    });

    // on the broker: two copies in the retry topic (levels 2 and 5), one in the DLQ topic
    const admin = new Kafka({
      brokers: brokerAddress('kafka').split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      const retry = topics.find((t) => t.startsWith('mqgate.retry.') && t.endsWith(topic));
      const dead = topics.find((t) => t.startsWith('mqgate.dlq.') && t.endsWith(group));
      expect(retry).toBeDefined();
      expect(dead).toBeDefined();
      const byLevel = (await admin.fetchTopicOffsets(retry ?? '')).filter((p) => p.high !== '0');
      expect(byLevel.map((p) => p.partition).sort()).toEqual([1, 4]);
      expect((await admin.fetchTopicOffsets(dead ?? ''))[0]?.high).toBe('1');
    } finally {
      await admin.disconnect();
    }
    await c.deleteTopic(topic);
  }, 60_000);

  it('kafka retry - a retry nacked through one gateway comes back through another that never saw it', async () => {
    const a = await gateway();
    running.push(a);
    const ca = new MqgateClient({ url: a.url });
    const topic = uniqueName('handover');
    const group = uniqueName('handover-g');
    await ca.upsertTopic(topic, { queues: 1, backend: 'kafka' });
    await ca.upsertGroup(group, { consumeFrom: 'FIRST', retryDelayLevels: [10] });
    const sent = await ca.send(topic, { body: 'later, elsewhere' });
    const m = await next(ca, group, topic);
    expect((await ca.nack(group, topic, m.receiptHandle ?? '')).outcome).toBe('RETRY');
    await a.stop(); // the retry waits its second in Kafka, not in this gateway
    running.splice(running.indexOf(a), 1);

    const b = await gateway();
    running.push(b);
    const cb = new MqgateClient({ url: b.url });
    await cb.upsertTopic(topic, { queues: 1, backend: 'kafka' });
    await cb.upsertGroup(group, { consumeFrom: 'FIRST', retryDelayLevels: [10] });
    const again = await next(cb, group, topic, 20_000);
    expect(again).toMatchObject({ msgId: sent.msgId, body: 'later, elsewhere', deliveryAttempt: 2 });
    await cb.ack(group, topic, again.receiptHandle ?? '');
    await cb.deleteTopic(topic);
  }, 60_000);
});
