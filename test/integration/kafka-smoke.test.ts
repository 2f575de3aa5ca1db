/**
 * Kafka smoke test with kafkajs directly, against the test bed's Kafka 4 (which removed the
 * oldest protocol versions, KIP-896): every call the Kafka adapter builds on negotiates a
 * version both sides speak. Admin (create with a per-topic config, describe, grow, offsets
 * by timestamp, delete), an idempotent producer with explicit partitions, a classic consumer
 * group that resumes from its committed offsets, and transactions (the adapter may commit a
 * half message's real record inside a Kafka transaction): a committed record is read with
 * read_committed, an aborted one never is, and offsets sent with a transaction count.
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

  async function createTopic(name: string, numPartitions = 1): Promise<string> {
    const topic = uniqueName(name);
    await admin.createTopics({
      topics: [{ topic, numPartitions, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    topics.push(topic);
    return topic;
  }

  /** Subscribes a group (fresh unless given) from the beginning and collects every value it sees. */
  async function collect(
    topic: string,
    isolation: 'read_committed' | 'read_uncommitted',
    groupId = uniqueName(`${topic}-${isolation}`),
  ): Promise<{ seen: string[]; consumer: Consumer }> {
    const seen: string[] = [];
    const consumer: Consumer = kafka.consumer({
      groupId,
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
    return { seen, consumer };
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
    const { seen } = await collect(topic, 'read_uncommitted');
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

    const { seen: readCommitted } = await collect(topic, 'read_committed');
    const { seen: readUncommitted } = await collect(topic, 'read_uncommitted');
    await eventually('the committed record', 30_000, async () =>
      readCommitted.includes('committed') && readUncommitted.includes('committed') ? true : undefined,
    );
    // give a late delivery of the aborted record a chance to show up before asserting
    await sleep(1000);
    expect(readCommitted).toEqual(['committed']);
    // the aborted record is in the log: a read_uncommitted consumer does see it
    expect(readUncommitted).toEqual(['aborted', 'committed']);
  });

  it('kafka - admin creates a topic with its own record size limit, describes it, grows it, deletes it', async () => {
    const topic = uniqueName('kafka-admin');
    await admin.createTopics({
      topics: [
        {
          topic,
          numPartitions: 2,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: '4194304' }],
        },
      ],
      waitForLeaders: true,
    });
    const described = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(described.topics[0]?.partitions).toHaveLength(2);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['max.message.bytes'] }],
    });
    expect(configs.resources[0]?.configEntries[0]?.configValue).toBe('4194304');

    // queues only grow: mqgate raises a topic's queue count with createPartitions
    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
    await eventually('4 partitions', 30_000, async () => {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      return meta.topics[0]?.partitions.length === 4 ? true : undefined;
    });

    await admin.deleteTopics({ topics: [topic] });
    await eventually('the topic gone', 30_000, async () =>
      (await admin.listTopics()).includes(topic) ? undefined : true,
    );
  });

  it('kafka - an idempotent producer writes to the partition it names, at the offsets it reports', async () => {
    const topic = await createTopic('kafka-partitions', 3);
    const p = await producer({ idempotent: true });
    const sent = await p.send({
      topic,
      acks: -1,
      messages: [
        { partition: 2, value: 'x0' },
        { partition: 2, value: 'x1' },
        { partition: 0, value: 'y0' },
      ],
    });
    const base = new Map(sent.map((r) => [r.partition, Number(r.baseOffset)]));
    expect(base).toEqual(
      new Map([
        [0, 0],
        [2, 0],
      ]),
    );
    const offsets = await admin.fetchTopicOffsets(topic);
    const high = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    expect(high).toEqual(
      new Map([
        [0, 1],
        [1, 0],
        [2, 2],
      ]),
    );
  });

  it('kafka - offsets by timestamp name the first record at or after a time, the end past the last', async () => {
    const topic = await createTopic('kafka-by-time');
    const p = await producer({ idempotent: true });
    const t0 = Date.now();
    await p.send({
      topic,
      acks: -1,
      messages: [
        { partition: 0, value: 'old', timestamp: String(t0 - 60_000) },
        { partition: 0, value: 'mid', timestamp: String(t0 - 30_000) },
        { partition: 0, value: 'new', timestamp: String(t0) },
      ],
    });
    const at = async (ts: number) => Number((await admin.fetchTopicOffsetsByTimestamp(topic, ts))[0]?.offset);
    expect(await at(t0 - 90_000)).toBe(0);
    expect(await at(t0 - 45_000)).toBe(1);
    expect(await at(t0)).toBe(2);
    // after the newest record: the log end offset (kafkajs maps Kafka's -1 to the high mark)
    expect(await at(t0 + 60_000)).toBe(3);
  });

  it('kafka - a classic consumer group resumes from its committed offsets, which admin reads and sets', async () => {
    const topic = await createTopic('kafka-resume');
    const groupId = uniqueName('resume-group');
    const p = await producer({ idempotent: true });
    await p.send({ topic, acks: -1, messages: ['m0', 'm1'].map((value) => ({ partition: 0, value })) });

    const first = await collect(topic, 'read_uncommitted', groupId);
    await eventually('the first two records', 30_000, async () =>
      first.seen.length >= 2 ? true : undefined,
    );
    await first.consumer.disconnect(); // commits what it consumed, then leaves the group

    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(committed[0]?.partitions).toEqual([{ partition: 0, offset: '2', metadata: null }]);

    await p.send({ topic, acks: -1, messages: [{ partition: 0, value: 'm2' }] });
    const second = await collect(topic, 'read_uncommitted', groupId);
    await eventually('the new record', 30_000, async () => (second.seen.length >= 1 ? true : undefined));
    await sleep(500);
    expect(second.seen).toEqual(['m2']);
    await second.consumer.disconnect();

    // an idle group's offsets can be set by admin (how mqgate's offset API writes them)
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '1' }] });
    const reset = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(reset[0]?.partitions[0]?.offset).toBe('1');
  });

  it("kafka - offsets sent with a committed transaction become the group's, an aborted one's never do", async () => {
    const topic = await createTopic('kafka-sendoffsets');
    const groupId = uniqueName('tx-group');
    const p = await producer({
      transactionalId: uniqueName('tx-offsets'),
      idempotent: true,
      maxInFlightRequests: 1,
    });

    const aborted = await p.transaction();
    await aborted.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic, partitions: [{ partition: 0, offset: '7' }] }],
    });
    await aborted.abort();
    const none = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(none[0]?.partitions[0]?.offset).toBe('-1');

    const committed = await p.transaction();
    await committed.send({ topic, messages: [{ partition: 0, value: 'out' }] });
    await committed.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic, partitions: [{ partition: 0, offset: '5' }] }],
    });
    await committed.commit();
    const after = await admin.fetchOffsets({ groupId, topics: [topic] });
    expect(after[0]?.partitions[0]?.offset).toBe('5');
  });
});
