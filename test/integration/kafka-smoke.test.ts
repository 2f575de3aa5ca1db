/**
 * Kafka smoke test with kafkajs directly: produce/consume, and transactions (the Kafka
 * adapter may commit a half message's real record inside a Kafka transaction): a committed
 * record is read with read_committed, an aborted one never is.
 */
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerAddress, eventually, sleep, uniqueName } from './brokers.js';

describe('kafka smoke (kafkajs)', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topics: string[] = [];
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    kafka = new Kafka({
      clientId: uniqueName('smoke'),
      brokers: brokerAddress('kafka').split(','),
      // kafkajs logs retriable coordinator errors (expected on a fresh broker) as ERROR;
      // failures surface through the assertions instead
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (topics.length > 0) await admin?.deleteTopics({ topics });
    await admin?.disconnect();
  });

  async function createTopic(name: string): Promise<string> {
    const topic = uniqueName(name);
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    topics.push(topic);
    return topic;
  }

  /** Subscribes a fresh group from the beginning and collects every value it sees. */
  async function collect(topic: string, isolation: 'read_committed' | 'read_uncommitted'): Promise<string[]> {
    const seen: string[] = [];
    const consumer: Consumer = kafka.consumer({
      groupId: uniqueName(`${topic}-${isolation}`),
      readUncommitted: isolation === 'read_uncommitted',
      // short fetch waits: disconnect() waits for the fetch in flight
      maxWaitTimeInMs: 200,
    });
    closers.push(() => consumer.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value?.toString() ?? '');
      },
    });
    return seen;
  }

  async function producer(options: Parameters<Kafka['producer']>[0] = {}): Promise<Producer> {
    const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...options });
    closers.push(() => p.disconnect());
    await p.connect();
    return p;
  }

  it('kafka - produced records are consumed in order', async () => {
    const topic = await createTopic('kafka-plain');
    const p = await producer({ idempotent: true });
    await p.send({ topic, acks: -1, messages: ['a', 'b', 'c'].map((value) => ({ key: 'k', value })) });
    const seen = await collect(topic, 'read_uncommitted');
    await eventually('3 records', 30_000, async () => (seen.length >= 3 ? seen : undefined));
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('kafka - read_committed sees a committed transaction and never an aborted one', async () => {
    const topic = await createTopic('kafka-tx');
    const p = await producer({
      transactionalId: uniqueName('tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });

    const aborted = await p.transaction();
    await aborted.send({ topic, messages: [{ value: 'aborted' }] });
    await aborted.abort();

    const committed = await p.transaction();
    await committed.send({ topic, messages: [{ value: 'committed' }] });
    await committed.commit();

    const readCommitted = await collect(topic, 'read_committed');
    const readUncommitted = await collect(topic, 'read_uncommitted');
    await eventually('the committed record', 30_000, async () =>
      readCommitted.includes('committed') && readUncommitted.includes('committed') ? true : undefined,
    );
    // give a late delivery of the aborted record a chance to show up before asserting
    await sleep(1000);
    expect(readCommitted).toEqual(['committed']);
    // the aborted record is in the log: a read_uncommitted consumer does see it
    expect(readUncommitted).toEqual(['aborted', 'committed']);
  });
});
