/**
 * Reads a partition by offset. kafkajs has no consumer without a group (no `assign()`), so a read
 * is a short-lived consumer in a group of its own that commits nothing: it seeks the partition
 * to the offset, pauses the others, takes records until it has `max` or reached `end` (the high
 * watermark it was told), and leaves. About a group join's time per read.
 */
import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { StoredMessage } from '../../src/message/message.js';
import { decode } from './codec.js';

/** Gives up on records that do not come (a gap of aborted or compacted records at the end). */
const READ_TIMEOUT_MS = 5000;

export async function readPartition(
  kafka: Kafka,
  topic: string,
  partition: number,
  offset: number,
  max: number,
  end: number,
): Promise<StoredMessage[]> {
  const got: StoredMessage[] = [];
  if (offset >= end || max <= 0) return got;
  const consumer = kafka.consumer({
    groupId: `mqgate-read-${randomBytes(8).toString('hex')}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 100,
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, READ_TIMEOUT_MS);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const mine = payload.memberAssignment[topic] ?? [];
        const others = mine.filter((p) => p !== partition);
        if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
      });
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (batch.partition !== partition) return;
            for (const r of batch.messages) {
              const o = Number(r.offset);
              if (o < offset || got.length >= max) continue;
              got.push(decode(topic, partition, r));
            }
            const last = Number(batch.lastOffset());
            if (got.length >= max || last + 1 >= end) done();
          },
        })
        .then(() => consumer.seek({ topic, partition, offset: String(offset) }))
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return got;
}
