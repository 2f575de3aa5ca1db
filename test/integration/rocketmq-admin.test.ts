/**
 * The RocketMQ adapter's remoting admin path against the test bed: topics with their queue
 * count and message type (which the proxy checks sends against), groups with orderly and retry
 * settings, queries by key and unique key, offsets, resets, reads by offset and the DLQ.
 */
import type { MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, uniqueName } from './brokers.js';
import { RocketmqTestbed } from './rocketmq-testbed.js';

describe('rocketmq admin (remoting)', () => {
  let bed: RocketmqTestbed;

  beforeAll(async () => {
    bed = await new RocketmqTestbed().start();
  });

  afterAll(async () => {
    await bed?.close();
  });

  function consumer(topic: string, group: string): Promise<SimpleConsumer> {
    return bed.consumer(topic, group);
  }

  async function receive(c: SimpleConsumer, count: number, invisibleMs = 15_000): Promise<MessageView[]> {
    const got: MessageView[] = [];
    const deadline = Date.now() + 30_000;
    while (got.length < count && Date.now() < deadline) got.push(...(await c.receive(16, invisibleMs)));
    return got;
  }

  it('rocketmq admin - a topic gets its queue count and message type; sends of another type are refused', async () => {
    const topic = uniqueName('adm-fifo');
    await bed.admin.createTopic(topic, { queues: 3, messageType: 'FIFO' });

    const config = await bed.admin.topicConfig(topic);
    expect(config).toMatchObject({
      readQueueNums: 3,
      writeQueueNums: 3,
      attributes: { 'message.type': 'FIFO' },
    });
    expect((await bed.admin.route(topic))?.queues.map((q) => q.writeQueueNums)).toEqual([3]);

    await bed.producer.send({ topic, messageGroup: 'g1', body: Buffer.from('in order') });
    await expect(bed.producer.send({ topic, body: Buffer.from('normal') })).rejects.toThrow(/type/i);

    const mixed = uniqueName('adm-mixed');
    await bed.admin.createTopic(mixed, { queues: 2, messageType: 'MIXED' });
    await bed.producer.send({ topic: mixed, body: Buffer.from('normal') });
    await bed.producer.send({ topic: mixed, messageGroup: 'g1', body: Buffer.from('fifo') });
    await bed.producer.send({
      topic: mixed,
      deliveryTimestamp: new Date(Date.now() + 1000),
      body: Buffer.from('later'),
    });
  });

  it('rocketmq admin - a group gets its orderly and retry settings', async () => {
    const group = uniqueName('adm-group');
    const levels = [100, 200, 300, 400, 500];
    await bed.admin.createGroup(group, { orderly: true, retryMaxTimes: 3, delayLevelsMs: levels });
    expect(await bed.admin.groupConfig(group)).toMatchObject({
      groupName: group,
      consumeMessageOrderly: true,
      retryMaxTimes: 3,
      groupRetryPolicy: { type: 'CUSTOMIZED', customizedRetryPolicy: { next: levels } },
    });
    await bed.admin.deleteGroup(group);
    // the test bed auto-creates groups, so asking for it again gives one with RocketMQ's defaults
    const after = await bed.admin.groupConfig(group);
    expect(after === undefined || (after.consumeMessageOrderly === false && after.retryMaxTimes === 16)).toBe(
      true,
    );
  });

  it('rocketmq admin - messages are found by key and by their unique key, with tag, keys and properties', async () => {
    const topic = uniqueName('adm-keys');
    await bed.admin.createTopic(topic, { queues: 2, messageType: 'NORMAL' });
    const properties = new Map([['color', 'red']]);
    const receipts = [];
    for (const body of ['a', 'b', 'c'])
      receipts.push(
        await bed.producer.send({
          topic,
          tag: 'T',
          keys: [`order-${body}`, 'shared'],
          properties,
          body: Buffer.from(body),
        }),
      );

    const shared = await eventually('3 messages under key "shared"', 10_000, async () => {
      const found = await bed.queries.queryByKey(topic, 'shared');
      return found.length === 3 ? found : undefined;
    });
    expect(shared.map((m) => m.body.toString()).sort()).toEqual(['a', 'b', 'c']);
    const [b] = await bed.queries.queryByKey(topic, 'order-b');
    expect(b).toMatchObject({ topic, tag: 'T', keys: ['order-b', 'shared'], properties: { color: 'red' } });
    expect(b?.msgId).toBe(receipts[1]?.messageId);

    const byId = await bed.queries.byUniqueKey(topic, receipts[2]?.messageId ?? '');
    expect(byId?.body.toString()).toBe('c');
    expect(await bed.queries.queryByKey(topic, 'no-such-key')).toEqual([]);
  });

  it('rocketmq admin - queue offsets, the offset at a time, and reads by offset', async () => {
    const topic = uniqueName('adm-offsets');
    await bed.admin.createTopic(topic, { queues: 1, messageType: 'NORMAL' });
    const before = Date.now() - 1000;
    for (const body of ['0', '1', '2']) await bed.producer.send({ topic, body: Buffer.from(body) });

    expect(await bed.queries.queueOffsets(topic)).toEqual([{ queueId: 0, minOffset: 0, maxOffset: 3 }]);
    expect(await bed.queries.offsetAt(topic, 0, before)).toBe(0);
    expect(await bed.queries.offsetAt(topic, 0, Date.now() + 60_000)).toBe(3);

    const read = await bed.queries.pull(topic, 0, 1, 10);
    expect(read.status).toBe('FOUND');
    expect(read.messages.map((m) => [m.queueOffset, m.body.toString()])).toEqual([
      [1, '1'],
      [2, '2'],
    ]);
    expect(read.nextOffset).toBe(3);
    expect((await bed.queries.pull(topic, 0, 3, 10)).status).toBe('NO_NEW_MSG');
  });

  it('rocketmq admin - a group reset to its first message gets every message again', async () => {
    const topic = uniqueName('adm-reset');
    const group = uniqueName('adm-reset-group');
    await bed.admin.createTopic(topic, { queues: 1, messageType: 'NORMAL' });
    await bed.admin.createGroup(group);
    const c = await consumer(topic, group);
    for (const body of ['x', 'y']) await bed.producer.send({ topic, body: Buffer.from(body) });

    for (const m of await receive(c, 2)) await c.ack(m);
    await eventually('the group committed offset 2', 10_000, async () => {
      const [q] = await bed.queries.groupOffsets(group, topic);
      return q?.offset === 2 ? q : undefined;
    });

    await bed.queries.resetOffsets(group, topic, { first: true });
    const again = await receive(c, 2);
    expect(again.map((m) => m.body.toString()).sort()).toEqual(['x', 'y']);
  });

  it('rocketmq admin - a message past retryMaxTimes is in the group DLQ, browsable', async () => {
    const topic = uniqueName('adm-dlq');
    const group = uniqueName('adm-dlq-group');
    await bed.admin.createTopic(topic, { queues: 1, messageType: 'NORMAL' });
    await bed.admin.createGroup(group, { retryMaxTimes: 1 });
    const c = await consumer(topic, group);
    const sent = await bed.producer.send({ topic, tag: 'bad', keys: ['k1'], body: Buffer.from('poison') });

    // each delivery is given back at once; the proxy moves it to %DLQ%{group} past 1 retry
    const dead = await eventually('the message in the DLQ', 50_000, async () => {
      for (const m of await c.receive(16, 10_000)) await c.changeInvisibleDuration(m, 0);
      const found = await bed.queries.deadLetters(group);
      return found.length > 0 ? found : undefined;
    });
    expect(dead.map((m) => m.body.toString())).toEqual(['poison']);
    expect(dead[0]?.msgId).toBe(sent.messageId);
    expect(dead[0]?.tag).toBe('bad');
    expect(await bed.queries.deadLetters(uniqueName('no-dlq-group'))).toEqual([]);
  });
});
