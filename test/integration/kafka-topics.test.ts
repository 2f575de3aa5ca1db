/**
 * Kafka topics through the gateway: what the conformance suite does not show. A topic that
 * grows gets more partitions and its group reads the new ones at once; a topic made outside
 * mqgate with a smaller record limit answers 413 naming the limit, before anything is sent, and
 * takes concurrent sends that fit it only apart in several requests; a name Kafka cannot take
 * is a 400; a topic deleted through mqgate is gone from Kafka; a topic deleted outside mqgate
 * leaves the others working (kafkajs clients that knew it go stale).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Running } from '../../src/cli/serve.js';
import { startServer } from '../../src/cli/serve.js';
import { MqgateClient } from '../../src/client/index.js';
import { validateConfig } from '../../src/config/load.js';
import { brokerAddress, eventually, uniqueName } from './brokers.js';

describe('kafka topics', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-kafka-topics-'));
  let running: Running;
  let admin: Admin;
  const c = () => new MqgateClient({ url: running.url });

  beforeAll(async () => {
    running = await startServer(
      validateConfig({
        server: { host: '127.0.0.1', port: 0 },
        store: { dataDir },
        log: { level: 'error', pretty: false },
        gateway: { backends: { kafka: { type: 'kafka', brokers: brokerAddress('kafka').split(',') } } },
      }),
    );
    admin = new Kafka({ brokers: brokerAddress('kafka').split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    await running?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('kafka topics - a topic that grows gets partitions, and its group reads the new ones at once', async () => {
    const topic = uniqueName('grow');
    const group = uniqueName('grow-g');
    await c().upsertTopic(topic, { queues: 2, backend: 'kafka' });
    await c().upsertGroup(group, { consumeFrom: 'FIRST' });
    await c().receive(group, { topic, waitSeconds: 0 });
    await c().upsertTopic(topic, { queues: 4 });
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(meta.topics[0]?.partitions).toHaveLength(4);
    await expect(c().upsertTopic(topic, { queues: 3 })).rejects.toMatchObject({ status: 400 });
    const sent = await Promise.all(
      Array.from({ length: 8 }, (_, i) => c().send(topic, { body: `g${i}`, shardingKey: `k${i}` })),
    );
    expect(new Set(sent.map((s) => s.queueId)).size).toBeGreaterThan(2); // new partitions in use
    const got = new Set<string>();
    await eventually('all 8, from old and new partitions', 20_000, async () => {
      const { messages } = await c().receive(group, { topic, maxMessages: 32, waitSeconds: 1 });
      for (const m of messages) {
        got.add(m.msgId);
        await c().ack(group, topic, m.receiptHandle ?? '');
      }
      return got.size >= 8 ? true : undefined;
    });
    expect([...got].sort()).toEqual(sent.map((s) => s.msgId).sort());
    await c().deleteTopic(topic);
  }, 60_000);

  it('kafka topics - a topic made elsewhere with a smaller record limit answers 413 naming it, and keeps nothing', async () => {
    const topic = uniqueName('small');
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'max.message.bytes', value: '2048' }] }],
      waitForLeaders: true,
    });
    await c().upsertTopic(topic, { queues: 1, backend: 'kafka' });
    expect((await c().send(topic, { body: 'fits' })).status).toBe('SEND_OK');
    const err = await c()
      .send(topic, { body: 'x'.repeat(4096) })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 413, code: 'MQ_ERR_MESSAGE_TOO_LARGE' });
    expect((err as Error).message).toContain('max.message.bytes');
    const [offsets] = await admin.fetchTopicOffsets(topic);
    expect(offsets?.high).toBe('1');
    // the limit is a partition's record batch's: concurrent sends coalesced into one produce
    // request stay under it together (20 x 600 B would be one 12 KB batch)
    const many = await Promise.all(
      Array.from({ length: 20 }, () => c().send(topic, { body: 'y'.repeat(600) })),
    );
    expect(many.every((r) => r.status === 'SEND_OK')).toBe(true);
    await c().deleteTopic(topic);
  });

  it('kafka topics - a name Kafka cannot take is a 400, and a deleted topic is gone from Kafka', async () => {
    const bad = await c()
      .upsertTopic(`${uniqueName('bad')}%x`, { queues: 1, backend: 'kafka' })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, code: 'MQ_ERR_TOPIC_INVALID' });
    const topic = uniqueName('gone');
    await c().upsertTopic(topic, { queues: 1, backend: 'kafka' });
    expect(await admin.listTopics()).toContain(topic);
    await c().deleteTopic(topic);
    await eventually('the topic gone', 20_000, async () =>
      (await admin.listTopics()).includes(topic) ? undefined : true,
    );
  });

  it('kafka topics - a topic deleted outside mqgate leaves the others working: sends, offsets, consumption', async () => {
    const gone = uniqueName('outside-gone');
    const kept = uniqueName('outside-kept');
    const group = uniqueName('outside-g');
    for (const t of [gone, kept]) await c().upsertTopic(t, { queues: 2, backend: 'kafka' });
    await c().upsertGroup(group, { consumeFrom: 'FIRST' });
    await Promise.all([c().send(gone, { body: 'a' }), c().send(kept, { body: 'b' })]);
    for (const t of [gone, kept]) expect((await c().getTopic(t)).queueOffsets).toHaveLength(2);
    // a client of its own: the suite's admin knows topics deleted before, so it is stale itself
    const outside = new Kafka({
      brokers: brokerAddress('kafka').split(','),
      logLevel: logLevel.NOTHING,
    }).admin();
    await outside.connect();
    await outside.deleteTopics({ topics: [gone] });
    await outside.disconnect();
    await eventually('the topic gone', 20_000, async () =>
      (await admin.listTopics()).includes(gone) ? undefined : true,
    );

    const [x, y] = await Promise.all([
      c().send(kept, { body: 'c' }),
      c()
        .send(gone, { body: 'd' })
        .catch((e: unknown) => e),
    ]);
    expect(x).toMatchObject({ status: 'SEND_OK' });
    expect(y).toMatchObject({ status: 404, code: 'MQ_ERR_TOPIC_NOT_FOUND' });
    // its offsets still answer; a send that shared a request with the deleted topic's may be
    // written twice (it is sent again on a fresh producer: at least once)
    expect(
      (await c().getTopic(kept)).queueOffsets.reduce((n, q) => n + q.maxOffset, 0),
    ).toBeGreaterThanOrEqual(2);
    const got: string[] = [];
    await eventually('both messages of the kept topic', 20_000, async () => {
      const { messages } = await c().receive(group, { topic: kept, maxMessages: 8, waitSeconds: 1 });
      for (const m of messages) got.push(String(m.body));
      return new Set(got).size >= 2 ? true : undefined;
    });
    expect([...new Set(got)].sort()).toEqual(['b', 'c']);
    await c().deleteTopic(kept);
    await c().deleteTopic(gone);
  }, 60_000);

  it('kafka topics - one group consuming two topics gets every message of both', async () => {
    const [t1, t2] = [uniqueName('two-a'), uniqueName('two-b')];
    const group = uniqueName('two-g');
    for (const t of [t1, t2]) await c().upsertTopic(t, { queues: 4, backend: 'kafka' });
    await c().upsertGroup(group, { consumeFrom: 'FIRST' });
    const sent = new Map<string, string[]>();
    for (const t of [t1, t2])
      sent.set(
        t,
        (await Promise.all(Array.from({ length: 12 }, (_, i) => c().send(t, { body: `${t}:${i}` })))).map(
          (r) => r.msgId,
        ),
      );
    const got = new Map<string, Set<string>>([
      [t1, new Set()],
      [t2, new Set()],
    ]);
    await eventually('all of both topics', 30_000, async () => {
      for (const t of [t1, t2]) {
        const { messages } = await c().receive(group, { topic: t, maxMessages: 32, waitSeconds: 0.5 });
        for (const m of messages) {
          expect(m.topic).toBe(t);
          got.get(t)?.add(m.msgId);
          await c().ack(group, t, m.receiptHandle ?? '');
        }
      }
      return [t1, t2].every((t) => got.get(t)?.size === 12) ? true : undefined;
    });
    for (const t of [t1, t2]) expect([...(got.get(t) ?? [])].sort()).toEqual([...(sent.get(t) ?? [])].sort());
    for (const t of [t1, t2]) await c().deleteTopic(t);
  }, 60_000);

  it('kafka topics - pulls page through a queue in order, and see what is sent between them', async () => {
    const topic = uniqueName('pages');
    await c().upsertTopic(topic, { queues: 2, backend: 'kafka' });
    const sent: string[] = [];
    for (let i = 0; i < 30; i++)
      sent.push((await c().send(topic, { body: `p${i}`, shardingKey: 'one' })).msgId);
    const queue = (await c().send(topic, { body: 'p30', shardingKey: 'one' })).queueId;
    const pages: string[] = [];
    for (let offset = 0; offset < 31; offset += 10) {
      const page = await c().pull(topic, queue, offset, 10);
      expect(page.messages[0]?.queueOffset).toBe(offset);
      pages.push(...page.messages.map((m) => String(m.body)));
    }
    expect(pages).toEqual(Array.from({ length: 31 }, (_, i) => `p${i}`));
    await c().send(topic, { body: 'p31', shardingKey: 'one' });
    expect((await c().pull(topic, queue, 31, 10)).messages.map((m) => m.body)).toEqual(['p31']);
    expect((await c().pull(topic, 1 - queue, 0, 10)).messages).toEqual([]);
    await c().deleteTopic(topic);
  }, 60_000);

  it("kafka topics - a message of 3 MiB, above Kafka's default 1 MiB, is sent, read and pulled", async () => {
    const topic = uniqueName('big');
    const group = uniqueName('big-g');
    await c().upsertTopic(topic, { queues: 1, backend: 'kafka' });
    await c().upsertGroup(group, { consumeFrom: 'FIRST' });
    const body = 'b'.repeat(3 * 1024 * 1024);
    const [big, small] = [await c().send(topic, { body }), await c().send(topic, { body: 'after' })];
    const got = await eventually('both', 30_000, async () => {
      const { messages } = await c().receive(group, { topic, maxMessages: 2, waitSeconds: 1 });
      return messages.length > 0 ? messages : undefined;
    });
    expect(got[0]?.msgId).toBe(big.msgId);
    expect(String(got[0]?.body).length).toBe(body.length);
    const pulled = await c().pull(topic, 0, 0, 2);
    expect(pulled.messages.map((m) => m.msgId)).toEqual([big.msgId, small.msgId]);
    await c().deleteTopic(topic);
  }, 60_000);
});
