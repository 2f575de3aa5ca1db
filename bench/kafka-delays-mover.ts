/**
 * bench/kafka-delays, way 2's mover (the Spring Kafka pattern), run as a child process so that it
 * can be killed: a kafkajs consumer group reads the delay topic (one partition per level, each
 * record as the kafka adapter writes a retry copy: its due time and real queue in headers),
 * auto-commit off. Of each batch of a partition the due prefix is produced to the real topic as
 * the adapter writes a message (the gateway's own ProduceBatcher: idempotent, acks -1,
 * concurrent sends coalesced) and, once confirmed, committed. A head not yet
 * due is held on the broker: its partition paused, the consumer seeked back to its offset, and
 * resumed by a timer at its due time (a level's records come due in the order they were written).
 *
 * A crash between a produce and its commit moves those records again (at least once).
 *
 *   env: KAFKA_BROKERS, MOVER_GROUP, MOVER_FROM (the delay topic), MOVER_TO (the real topic),
 *   MOVER_SESSION_MS (10000, as the gateway's sessionTimeoutMs), MOVER_MAX_WAIT_MS (the fetch
 *   wait, 100). Prints READY once the group
 *   joined, then runs until killed.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { KafkaMessage } from 'kafkajs';
import { pino } from 'pino';
import { decode, dueOf, encode } from '../adapters/kafka/codec.js';
import { ProduceBatcher } from '../adapters/kafka/produce-batcher.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is not set`);
  return v;
};

/** The gateway's producer, as its kafka adapter makes it: idempotent, acks -1, sends coalesced. */
export function producer(kafka: Kafka): ProduceBatcher {
  return new ProduceBatcher({
    kafka,
    backend: 'kafka',
    confirmTimeoutMs: 10_000,
    maxRequestBytes: 4 * 1024 * 1024,
    logger: pino({ level: 'warn' }),
    onResult: () => {},
  });
}

/** A delay topic's record as the message it holds, for its real topic (partition: its queue). */
function moved(from: string, partition: number, r: KafkaMessage) {
  const m = decode(from, partition, r);
  const { queueId, msgId, bornTimestamp, body, tag, keys, properties } = m;
  return encode({ queueId, msgId, bornTimestamp, body, tag, keys, properties });
}

async function main(): Promise<void> {
  const from = env('MOVER_FROM');
  const to = env('MOVER_TO');
  const sessionTimeout = Number(process.env.MOVER_SESSION_MS ?? 10_000);
  const kafka = new Kafka({
    clientId: `mover-${process.pid}`,
    brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    logLevel: logLevel.WARN,
  });
  const batcher = producer(kafka);
  const consumer = kafka.consumer({
    groupId: env('MOVER_GROUP'),
    allowAutoTopicCreation: false,
    // a resume waits for the fetch in flight on the other partitions, or for this long when all
    // were paused: 100 ms, as the adapter's group consumers
    maxWaitTimeInMs: Number(process.env.MOVER_MAX_WAIT_MS ?? 100),
    sessionTimeout,
    heartbeatInterval: Math.floor(sessionTimeout / 3),
    rebalanceTimeout: 2 * sessionTimeout,
  });
  const timers = new Map<number, NodeJS.Timeout>();

  /** Holds a partition's head until it is due: paused, seeked back to it, resumed by a timer. */
  const hold = (partition: number, offset: string, due: number): void => {
    const tp = [{ topic: from, partitions: [partition] }];
    consumer.pause(tp);
    consumer.seek({ topic: from, partition, offset });
    clearTimeout(timers.get(partition));
    const timer = setTimeout(
      () => {
        timers.delete(partition);
        consumer.resume(tp);
      },
      Math.max(0, due - Date.now()),
    );
    timers.set(partition, timer);
  };

  let ready = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    // a join reads every partition again from its commit: nothing is held any more
    for (const [partition, timer] of timers) {
      clearTimeout(timer);
      consumer.resume([{ topic: from, partitions: [partition] }]);
    }
    timers.clear();
    if (!ready) console.log('READY');
    ready = true;
  });
  // SIGTERM (the end of a run part): leave the group, so that it can be deleted
  process.once('SIGTERM', () => {
    void Promise.allSettled([consumer.disconnect(), batcher.close()]).then(() => process.exit(0));
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [from], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    // each level's partition on its own: one waiting for its produce holds up no other
    partitionsConsumedConcurrently: 64,
    eachBatch: async ({ batch, resolveOffset, isStale }) => {
      if (isStale()) return;
      const now = Date.now();
      const due: KafkaMessage[] = [];
      let head: KafkaMessage | undefined;
      for (const m of batch.messages) {
        if ((dueOf(m) ?? 0) > now) {
          head = m;
          break;
        }
        due.push(m);
      }
      const last = due[due.length - 1];
      if (last !== undefined) {
        await batcher.send(
          to,
          due.map((m) => moved(from, batch.partition, m)),
        );
        resolveOffset(last.offset);
        await consumer.commitOffsets([
          { topic: from, partition: batch.partition, offset: String(Number(last.offset) + 1) },
        ]);
      }
      if (head !== undefined) hold(batch.partition, head.offset, dueOf(head) ?? 0);
    },
  });
}

if (process.argv[1]?.endsWith('kafka-delays-mover.ts') === true) await main();
