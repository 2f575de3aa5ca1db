/**
 * RabbitMQ closes a channel that holds a delivery past its consumer_timeout. The adapter gives
 * back what it held for `releaseAfterMs` first; the core's POP keeps the message's handle and
 * invisible time across that redelivery, and an ack with the first handle still settles it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqgateClient } from '../../src/client/index.js';
import type { RabbitGateway } from '../helpers/rabbit-gateway.js';
import { startRabbitGateway } from '../helpers/rabbit-gateway.js';
import { sleep, uniqueName } from './brokers.js';

describe('rabbitmq release before consumer_timeout', () => {
  let gw: RabbitGateway;

  beforeAll(async () => {
    gw = await startRabbitGateway({ broker: { minInvisibleMs: 100 } }, { releaseAfterMs: 1000 });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  it('release - a delivery held past releaseAfterMs comes again under the same handle; the ack settles it', async () => {
    const c = new MqgateClient({ url: gw.running.url });
    const topic = uniqueName('release');
    const group = uniqueName('release-g');
    await c.upsertTopic(topic, { queues: 1, backend: 'rabbit' });
    await c.upsertGroup(group, { consumeFrom: 'LAST' });
    await c.receive(group, { topic, waitSeconds: 0 });
    const sent = await c.send(topic, { body: 'held long' });
    const [m] = (await c.receive(group, { topic, waitSeconds: 5, invisibleSeconds: 6 })).messages;
    expect(m?.msgId).toBe(sent.msgId);
    await sleep(3000); // the adapter gave it back (at least once) and RabbitMQ delivered it again
    expect((await c.receive(group, { topic, waitSeconds: 0 })).messages).toEqual([]); // still invisible
    await c.ack(group, topic, m?.receiptHandle ?? '');
    await sleep(4000); // past the invisible time: an unsettled message would be back
    expect((await c.receive(group, { topic, waitSeconds: 1 })).messages).toEqual([]);
    await c.deleteTopic(topic);
  }, 60_000);
});
