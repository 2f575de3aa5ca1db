/**
 * The RocketMQ adapter against the test bed, on the contract's primitives: connect and health,
 * topics (MIXED, queues only grow), sends to the queue the core names (through the message
 * group the proxy hashes there), and a group's stream with credit, ack and release.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RocketmqAdapter } from '../../adapters/rocketmq/rocketmq-adapter.js';
import type { Delivery, OutboundMessage } from '../../adapters/spi.js';
import { shardingQueue } from '../../src/broker/index.js';
import { newMsgId } from '../../src/message/index.js';
import { brokerAddress, rocketmqNamesrv, uniqueName } from './brokers.js';
import { RocketmqTestbed } from './rocketmq-testbed.js';

const logger = pino({ level: 'silent' });

function adapter(o: { namesrv?: string } = {}): RocketmqAdapter {
  return new RocketmqAdapter({
    name: 'rmq',
    endpoints: brokerAddress('rocketmq'),
    namesrv: o.namesrv ?? rocketmqNamesrv(),
    confirmTimeoutMs: 5000,
    connectTimeoutMs: 3000,
    maxMessageSize: 4 * 1024 * 1024,
    logger,
  });
}

function message(queueId: number, body: string, extra: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    queueId,
    msgId: newMsgId(),
    bornTimestamp: Date.now() - 1000,
    body,
    tag: 'T',
    keys: [`k-${body}`],
    properties: { color: 'red' },
    ...extra,
  };
}

/** Takes `count` deliveries off a stream (failing after timeoutMs). */
async function take(it: AsyncIterator<Delivery>, count: number, timeoutMs = 30_000): Promise<Delivery[]> {
  const got: Delivery[] = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`got ${got.length} of ${count} deliveries in ${timeoutMs} ms`);
    const next = await Promise.race([
      it.next(),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), left)),
    ]);
    if (next === 'timeout' || next.done === true) continue;
    got.push(next.value);
  }
  return got;
}

describe('rocketmq adapter', () => {
  let rmq: RocketmqAdapter;
  let bed: RocketmqTestbed;

  beforeAll(async () => {
    rmq = adapter();
    await rmq.connect();
    bed = new RocketmqTestbed();
  });

  afterAll(async () => {
    await rmq?.close();
    await bed?.close();
  });

  it('rocketmq adapter - connects and is up; a name server that is not there fails connect with a 503', async () => {
    expect(rmq.health().status).toBe('up');
    const lost = adapter({ namesrv: '127.0.0.1:1' });
    await expect(lost.connect()).rejects.toMatchObject({
      code: 'MQ_ERR_BACKEND_UNAVAILABLE',
      retriable: true,
    });
    expect(lost.health().status).toBe('down');
    await lost.close();
  });

  it('rocketmq adapter - ensureTopic makes a MIXED topic with its queues; queues only grow', async () => {
    const topic = uniqueName('ad-topic');
    await rmq.ensureTopic(topic, 2);
    expect(await bed.admin.topicConfig(topic)).toMatchObject({
      writeQueueNums: 2,
      attributes: { 'message.type': 'MIXED' },
    });
    await rmq.ensureTopic(topic, 4);
    await rmq.ensureTopic(topic, 3);
    expect(await bed.admin.topicConfig(topic)).toMatchObject({ writeQueueNums: 4 });
  });

  it('rocketmq adapter - each message lands on the queue it names and comes back intact, in queue order', async () => {
    const topic = uniqueName('ad-send');
    const group = uniqueName('ad-send-g');
    await rmq.ensureTopic(topic, 4);
    await rmq.ensureGroup(group, topic);
    const key = 'order-42';
    const keyed = message(shardingQueue(key, 4), 'keyed', { properties: { __SHARDINGKEY: key } });
    const batches = [
      [0, 1, 2, 3, 0, 1].map((q, i) => message(q, `a${i}`)),
      [3, 2, 1, 0].map((q, i) => message(q, `b${i}`)).concat([keyed]),
    ];
    const receipts = await Promise.all(batches.map((b) => rmq.send(topic, b)));
    const sent = batches.flat();
    expect(receipts.flat().every((r) => r.queueOffset >= 0)).toBe(true);

    const stream = rmq.consume(group, topic, { credit: 32 });
    const got = await take(stream[Symbol.asyncIterator](), sent.length);
    for (const d of got) await d.ack();
    await stream.close();

    const byId = new Map(got.map((d) => [d.message.msgId, d.message]));
    for (const m of sent) {
      const back = byId.get(m.msgId);
      expect(back, m.body as string).toMatchObject({
        queueId: m.queueId,
        bornTimestamp: m.bornTimestamp,
        tag: 'T',
        keys: [`k-${m.body as string}`],
        properties: m.properties,
      });
      expect(back?.body.toString()).toBe(m.body);
    }
    // the receipts' offsets are the delivered messages' queue offsets, and a batch keeps its order per queue
    const offsets = receipts.flat().map((r) => r.queueOffset);
    expect(sent.map((m) => byId.get(m.msgId)?.queueOffset)).toEqual(offsets);
    for (const q of [0, 1, 2, 3]) {
      const ofQueue = batches[0]
        ?.filter((m) => m.queueId === q)
        .map((m) => byId.get(m.msgId)?.queueOffset ?? -1);
      expect(ofQueue).toEqual([...(ofQueue ?? [])].sort((a, b) => a - b));
    }
  });

  it('rocketmq adapter - a released delivery comes again, its attempt counted; closing gives back what is unsettled', async () => {
    const topic = uniqueName('ad-release');
    const group = uniqueName('ad-release-g');
    await rmq.ensureTopic(topic, 1);
    await rmq.ensureGroup(group, topic);
    const [m] = [message(0, 'again')];
    await rmq.send(topic, [m as OutboundMessage]);

    const stream = rmq.consume(group, topic, { credit: 1 });
    const it = stream[Symbol.asyncIterator]();
    const [first] = await take(it, 1);
    expect(first?.deliveryAttempt).toBe(1);
    expect(await first?.release()).toBe(true);
    expect(await first?.ack()).toBe(false); // settled already
    const [second] = await take(it, 1);
    expect(second?.message.msgId).toBe(m?.msgId);
    expect(second?.deliveryAttempt).toBeGreaterThan(1);
    await stream.close(); // unsettled: given back

    const again = rmq.consume(group, topic, { credit: 1 });
    const [third] = await take(again[Symbol.asyncIterator](), 1);
    expect(third?.message.msgId).toBe(m?.msgId);
    expect(await third?.ack()).toBe(true);
    await again.close();
  });
});
