/**
 * RocketMQ 5 smoke test with rocketmq-client-nodejs (the gRPC client of apache/rocketmq-clients)
 * against the proxy: send + SimpleConsumer receive/ack, and a delayed message that is not
 * delivered before its time (the broker's timer has 1 s precision: timerPrecisionMs=1000).
 */
import type { MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from './brokers.js';
import { RocketmqTestbed } from './rocketmq-testbed.js';

const TIMER_PRECISION_MS = 1000;

describe('rocketmq smoke (rocketmq-client-nodejs)', () => {
  let bed: RocketmqTestbed;

  beforeAll(async () => {
    bed = await new RocketmqTestbed().start();
  });

  afterAll(async () => {
    await bed?.close();
  });

  function consumer(topic: string): Promise<SimpleConsumer> {
    return bed.consumer(topic, uniqueName(`${topic}-group`).slice(0, 120));
  }

  /** Receives until `count` messages arrived (acking each) or timeoutMs passed. */
  async function receiveAll(c: SimpleConsumer, count: number, timeoutMs: number): Promise<MessageView[]> {
    const got: MessageView[] = [];
    const deadline = Date.now() + timeoutMs;
    while (got.length < count && Date.now() < deadline) {
      for (const m of await c.receive(16, 15_000)) {
        await c.ack(m);
        got.push(m);
      }
    }
    return got;
  }

  it('rocketmq - sent messages are received by a SimpleConsumer and acked', async () => {
    const topic = uniqueName('rmq-normal');
    await bed.admin.createTopic(topic, { queues: 4, messageType: 'NORMAL' });
    const c = await consumer(topic);

    const sent: string[] = [];
    for (const body of ['one', 'two', 'three']) {
      const receipt = await bed.producer.send({ topic, tag: 'smoke', keys: [body], body: Buffer.from(body) });
      sent.push(receipt.messageId);
    }

    const got = await receiveAll(c, sent.length, 30_000);
    expect(got.map((m) => m.body.toString()).sort()).toEqual(['one', 'three', 'two']);
    expect(got.map((m) => m.messageId).sort()).toEqual([...sent].sort());
    expect(got.every((m) => m.tag === 'smoke')).toBe(true);
    // everything was acked: nothing comes back
    expect(await c.receive(16, 15_000)).toEqual([]);
  });

  it('rocketmq - a delayed message is not delivered before its delivery time', async () => {
    const topic = uniqueName('rmq-delay');
    await bed.admin.createTopic(topic, { queues: 4, messageType: 'DELAY' });
    const c = await consumer(topic);

    const delayMs = 4000;
    const deliverAt = Date.now() + delayMs;
    await bed.producer.send({ topic, body: Buffer.from('later'), deliveryTimestamp: new Date(deliverAt) });

    const [message] = await receiveAll(c, 1, 30_000);
    const receivedAt = Date.now();
    expect(message?.body.toString()).toBe('later');
    expect(message?.deliveryTimestamp?.getTime()).toBe(deliverAt);
    // the timer wheel fires a slot at the start of its second, so up to 1 s early is RocketMQ's own
    // behaviour; earlier than that would be a broken timer
    expect(receivedAt).toBeGreaterThanOrEqual(deliverAt - TIMER_PRECISION_MS);
    expect(receivedAt - deliverAt).toBeLessThan(10_000);
  });
});
