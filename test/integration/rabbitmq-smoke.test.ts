/**
 * RabbitMQ smoke test with amqplib directly: proves the broker from scripts/brokers (or the
 * environment) accepts confirmed publishes and delivers them to a manual-ack consumer, on
 * the quorum queues the RabbitMQ adapter will use, and that stream queues (a core feature
 * since 3.9, no plugin) replay from an offset over AMQP 0-9-1.
 */
import { connect, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerAddress, uniqueName } from './brokers.js';

describe('rabbitmq smoke (amqplib)', () => {
  let conn: ChannelModel;
  const queues: string[] = [];

  beforeAll(async () => {
    conn = await connect(brokerAddress('rabbitmq'));
  });

  afterAll(async () => {
    if (!conn) return;
    const ch = await conn.createChannel();
    for (const q of queues) await ch.deleteQueue(q);
    await conn.close();
  });

  it('rabbitmq - confirmed publish to a quorum queue is consumed and acked', async () => {
    const queue = uniqueName('rabbit-quorum');
    queues.push(queue);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum' } });

    const bodies = ['one', 'two', 'three'];
    for (const body of bodies)
      ch.sendToQueue(queue, Buffer.from(body), { persistent: true, messageId: body });
    await ch.waitForConfirms();
    expect((await ch.checkQueue(queue)).messageCount).toBe(bodies.length);

    const received: string[] = [];
    await ch.prefetch(10);
    let consumerTag = '';
    await new Promise<void>((resolve, reject) => {
      ch.consume(queue, (msg: ConsumeMessage | null) => {
        if (msg === null) return reject(new Error('consumer cancelled by the broker'));
        received.push(msg.content.toString());
        ch.ack(msg);
        if (received.length === bodies.length) resolve();
      })
        .then((ok) => (consumerTag = ok.consumerTag))
        .catch(reject);
    });
    expect(received).toEqual(bodies);

    // unacked deliveries would return to the queue when the channel closes: none must
    await ch.cancel(consumerTag);
    await ch.close();
    const check = await conn.createChannel();
    expect((await check.checkQueue(queue)).messageCount).toBe(0);
    await check.close();
  });

  it('rabbitmq - a stream queue replays from the first offset to a new consumer', async () => {
    const queue = uniqueName('rabbit-stream');
    queues.push(queue);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    for (const body of ['s1', 's2']) ch.sendToQueue(queue, Buffer.from(body), { persistent: true });
    await ch.waitForConfirms();

    // streams need a prefetch and manual acks; the offset says where a consumer starts
    await ch.prefetch(10);
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ch.consume(
        queue,
        (msg) => {
          if (msg === null) return reject(new Error('consumer cancelled by the broker'));
          received.push(msg.content.toString());
          ch.ack(msg);
          if (received.length === 2) resolve();
        },
        { arguments: { 'x-stream-offset': 'first' } },
      ).catch(reject);
    });
    expect(received).toEqual(['s1', 's2']);
    await ch.close();
  });
});
