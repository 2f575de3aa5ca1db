import { afterEach, describe, expect, it } from 'vitest';
import type { Broker } from '../../src/broker/index.js';
import { DelayLevels, guavaConsistentHash, parseDelayLevels, shardingQueue } from '../../src/broker/index.js';
import { javaStringHashCode } from '../../src/message/hash.js';
import { openBroker } from '../helpers/broker.js';
import { tmpDir } from '../helpers/tmp.js';

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

describe('topics and groups', () => {
  it('topics - create, grow, list, delete; settings survive a restart', async () => {
    const dataDir = tmpDir('broker');
    let b = await openBroker({ dataDir });
    expect(b.upsertTopic('Orders', { queues: 8 })).toMatchObject({ name: 'Orders', queues: 8, perm: 'RW' });
    expect(() => b.upsertTopic('Orders', { queues: 4 })).toThrow(/can be added but not removed/);
    b.upsertTopic('Orders', { queues: 16, perm: 'R' });
    b.upsertTopic('Other');
    expect(b.topics.list().map((t) => [t.name, t.queues])).toEqual([
      ['Orders', 16],
      ['Other', 4],
    ]);
    await b.close();
    broker = b = await openBroker({ dataDir });
    expect(b.getTopic('Orders')).toMatchObject({ queues: 16, perm: 'R' });
    expect(b.getTopic('Orders')?.queueOffsets).toHaveLength(16);
    await expect(b.send('Orders', { body: 'x' })).rejects.toMatchObject({ code: 'MQ_ERR_TOPIC_PERMISSION' });
    expect(b.deleteTopic('Other')).toBe(true);
    expect(b.deleteTopic('Other')).toBe(false);
    expect(b.getTopic('Other')).toBeUndefined();
  });

  it('topics - system topics cannot be written, created or deleted by users', async () => {
    broker = await openBroker();
    for (const t of [
      '%RETRY%G',
      '%DLQ%G',
      'SCHEDULE_TOPIC_XXXX',
      'RMQ_SYS_TRANS_HALF_TOPIC',
      'TRANS_CHECK_MAX_TIME_TOPIC',
    ]) {
      await expect(broker.send(t, { body: 'x' })).rejects.toMatchObject({ code: 'MQ_ERR_TOPIC_SYSTEM' });
      expect(() => broker?.upsertTopic(t)).toThrow(/system topic/);
    }
    broker.upsertGroup('G', { consumeFrom: 'FIRST', maxReconsumeTimes: 0 });
    await broker.send('T', { body: 'x' });
    const [m] = await broker.receive('G', { topic: 'T' });
    await broker.nack('G', 'T', m?.receiptHandle ?? '');
    await expect(broker.send('%DLQ%G', { body: 'x' })).rejects.toMatchObject({ code: 'MQ_ERR_TOPIC_SYSTEM' });
    expect(() => broker?.deleteTopic('%DLQ%G')).toThrow(/system topic/);
  });

  it('topics - auto-creation on first send is a switch; a bad name or queue is refused', async () => {
    broker = await openBroker({ autoCreateTopics: false, autoCreateGroups: false });
    await expect(broker.send('New', { body: 'x' })).rejects.toMatchObject({ code: 'MQ_ERR_TOPIC_NOT_FOUND' });
    await expect(broker.send('bad topic', { body: 'x' })).rejects.toMatchObject({
      code: 'MQ_ERR_TOPIC_INVALID',
    });
    broker.upsertTopic('New', { queues: 2 });
    await expect(broker.send('New', { body: 'x', queueId: 2 })).rejects.toMatchObject({
      code: 'MQ_ERR_QUEUE_INVALID',
    });
    await expect(broker.receive('NoGroup', { topic: 'New' })).rejects.toMatchObject({
      code: 'MQ_ERR_GROUP_NOT_FOUND',
    });
    await expect(broker.send('New', { body: Buffer.alloc(64 * 1024 + 1) })).rejects.toMatchObject({
      code: 'MQ_ERR_MESSAGE_TOO_LARGE',
    });
    expect((await broker.send('New', { body: 'ok', queueId: 1 })).queueId).toBe(1);
  });

  it('groups - defaults follow RocketMQ and bad settings name the key', async () => {
    broker = await openBroker();
    expect(broker.upsertGroup('G')).toMatchObject({
      consumeMode: 'CLUSTERING',
      orderly: false,
      maxReconsumeTimes: 16,
      consumeFrom: 'LAST',
      suspendMs: 1000,
    });
    expect(broker.upsertGroup('O', { orderly: true }).maxReconsumeTimes).toBe(-1);
    expect(() => broker?.upsertGroup('G', { maxReconsumeTimes: -2 })).toThrow(/maxReconsumeTimes/);
    expect(() => broker?.upsertGroup('G', { retryDelayLevels: [0] })).toThrow(/retryDelayLevels/);
    expect(() => broker?.upsertGroup('G', { consumeMode: 'FANOUT' as 'CLUSTERING' })).toThrow(/consumeMode/);
    expect(() => broker?.upsertGroup('%RETRY%x')).toThrow(/group name/);
    expect(broker.groups.list().map((g) => g.name)).toEqual(['G', 'O']);
    expect(broker.deleteGroup('O')).toBe(true);
  });
});

describe('queue selection and delay levels', () => {
  // computed with Guava's algorithm and String.hashCode() on Java 17
  const vectors: [string, number, [number, number][]][] = [
    [
      'order-42',
      1234255197,
      [
        [4, 3],
        [8, 3],
        [16, 10],
        [7, 3],
      ],
    ],
    [
      '',
      0,
      [
        [4, 0],
        [8, 0],
        [16, 0],
        [7, 0],
      ],
    ],
    [
      'key-1',
      101943363,
      [
        [4, 2],
        [8, 5],
        [16, 5],
        [7, 5],
      ],
    ],
    [
      'key-2',
      101943364,
      [
        [4, 2],
        [8, 7],
        [16, 7],
        [7, 5],
      ],
    ],
    [
      'user:7',
      -836031416,
      [
        [4, 0],
        [8, 5],
        [16, 5],
        [7, 5],
      ],
    ],
    [
      '中文',
      646394,
      [
        [4, 3],
        [8, 3],
        [16, 3],
        [7, 3],
      ],
    ],
    [
      'polygenelubricants',
      -2147483648,
      [
        [4, 2],
        [8, 2],
        [16, 2],
        [7, 2],
      ],
    ],
  ];
  for (const [key, hash, cases] of vectors)
    it(`sharding - "${key}" picks the queue RocketMQ 5 picks`, () => {
      expect(javaStringHashCode(key)).toBe(hash);
      for (const [n, q] of cases) {
        expect(guavaConsistentHash(BigInt(hash), n)).toBe(q);
        expect(shardingQueue(key, n)).toBe(q);
      }
    });

  it('sharding - java-mod is RocketMQ 4 SelectMessageQueueByHash', () => {
    expect(shardingQueue('order-42', 8, 'java-mod')).toBe(5);
    expect(shardingQueue('user:7', 16, 'java-mod')).toBe(8);
    expect(shardingQueue('polygenelubricants', 7, 'java-mod')).toBe(2);
  });

  it('delay levels - parse units, clamp above the last, refuse bad items naming the key', () => {
    expect(parseDelayLevels('10ms 1s 2m 1h 1d')).toEqual([10, 1000, 120_000, 3_600_000, 86_400_000]);
    const levels = new DelayLevels();
    expect(levels.count).toBe(18);
    expect(levels.delayOf(3)).toBe(10_000);
    expect(levels.delayOf(99)).toBe(7_200_000);
    expect(() => levels.check(0)).toThrow(/1\.\.18/);
    expect(() => parseDelayLevels('1s 5x', 'broker.delayLevels')).toThrow(/broker\.delayLevels item 2 "5x"/);
  });
});
