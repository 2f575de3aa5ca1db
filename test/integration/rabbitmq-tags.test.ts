/**
 * Tag subscriptions on RabbitMQ are bindings: a group that takes only some tags has its queues
 * bound for those, so other messages never reach its queues (they are not transferred to be
 * dropped); a changed subscription rebinds, and what it finds queued under the old one is skipped.
 */
import type { ChannelModel } from 'amqplib';
import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardingQueue } from '../../src/broker/index.js';
import { MqgateClient } from '../../src/client/index.js';
import type { RabbitGateway } from '../helpers/rabbit-gateway.js';
import { startRabbitGateway } from '../helpers/rabbit-gateway.js';
import { brokerAddress, uniqueName } from './brokers.js';

describe('rabbitmq tag routing', () => {
  let gw: RabbitGateway;
  let amqp: ChannelModel;

  beforeAll(async () => {
    amqp = await connect(brokerAddress('rabbitmq'));
    // a lane holds one message per queue: the rest waits, countable, in RabbitMQ
    gw = await startRabbitGateway({ gateway: { popCredit: 1 } });
  });

  afterAll(async () => {
    await gw?.stop();
    await amqp?.close();
  });

  /** Messages waiting in a group's RabbitMQ queue of one queue index. */
  async function waiting(topic: string, group: string, queueId: number): Promise<number> {
    const ch = await amqp.createChannel();
    try {
      return (await ch.checkQueue(`${topic}.${group}.q${queueId}`)).messageCount;
    } finally {
      await ch.close();
    }
  }

  it('tags - other tags never reach the queues of a group that takes only some; a new subscription rebinds', async () => {
    const c = new MqgateClient({ url: gw.running.url });
    const topic = uniqueName('tags');
    const only = uniqueName('tags-a');
    const all = uniqueName('tags-all');
    await c.upsertTopic(topic, { queues: 4, backend: 'rabbit' });
    for (const g of [only, all]) await c.upsertGroup(g, { consumeFrom: 'LAST' });
    await c.receive(only, { topic, waitSeconds: 0, filter: { type: 'TAG', expression: 'A' } });
    await c.receive(all, { topic, waitSeconds: 0 });
    const q = shardingQueue('k', 4, 'consistent');
    for (let i = 0; i < 10; i++) await c.send(topic, { body: `b${i}`, tag: 'B', shardingKey: 'k' });
    await c.send(topic, { body: 'untagged', shardingKey: 'k' });
    const a = await c.send(topic, { body: 'a', tag: 'A', shardingKey: 'k' });
    await new Promise((r) => setTimeout(r, 300));
    expect(await waiting(topic, all, q)).toBeGreaterThanOrEqual(10); // they were sent, and held for `all`
    const got = (await c.receive(only, { topic, waitSeconds: 2, filter: { type: 'TAG', expression: 'A' } }))
      .messages;
    expect(got.map((m) => m.msgId)).toEqual([a.msgId]);
    expect(await waiting(topic, only, q)).toBe(0); // B and the untagged one never came to `only`
    await c.ack(only, topic, got[0]?.receiptHandle ?? '');
    // every tag from now on
    await c.receive(only, { topic, waitSeconds: 0 });
    const b = await c.send(topic, { body: 'b later', tag: 'B', shardingKey: 'k' });
    const later = (await c.receive(only, { topic, waitSeconds: 3 })).messages;
    expect(later.map((m) => m.msgId)).toEqual([b.msgId]);
    await c.deleteTopic(topic);
  }, 60_000);
});
