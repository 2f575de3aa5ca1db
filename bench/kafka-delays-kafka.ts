/**
 * bench/kafka-delays' own kafkajs side, for both ways: the run's topics (deleted at the end with
 * the run's groups, KafkaBench), the reader of a real topic that tallies what arrived (a consumer
 * group of its own, from the topic's start), the window of sends in flight, and the wait for the
 * last arrivals (which ends, lost messages or not).
 */
import type { Consumer } from 'kafkajs';
import { performance } from 'node:perf_hooks';
import { keepInFlight, runId, sleep } from './backends-common.js';
import { KafkaBench } from './backends-kafka.js';
import type { Arrivals } from './kafka-delays-common.js';
import { parseBody, settings, wallNow } from './kafka-delays-common.js';

export { KafkaBench };

/** Makes a topic of `partitions` partitions (waiting for their leaders). */
export async function makeTopic(bench: KafkaBench, name: string, partitions: number): Promise<string> {
  const admin = bench.kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic: name, numPartitions: partitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
  return name;
}

/** Reads `topic` from its start in a group of its own, each message into `arrivals`. */
export async function readTopic(bench: KafkaBench, topic: string, arrivals: Arrivals): Promise<Consumer> {
  const consumer = bench.kafka.consumer({
    groupId: `bench-${runId}-read-${topic}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 100,
  });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const { index, due } = parseBody(message.value?.toString('latin1', 0, 40) ?? '');
      arrivals.record(index, due);
    },
  });
  await joined;
  return consumer;
}

/**
 * Sends message 0..count-1 with `send(i)` (resolves once acknowledged), WINDOW of them in flight:
 * acknowledged sends per second, first send to last answer.
 */
export async function sendAll(
  what: string,
  count: number,
  send: (i: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  const f = await keepInFlight(settings.window, (done) => {
    if (next >= count) return false;
    send(next++).then(
      () => done(1, true),
      (e: unknown) => {
        console.error(`${what}: ${String(e)}`);
        done(1, false);
      },
    );
    return true;
  });
  if (f.failed > 0) throw new Error(`${what}: ${f.failed} sends not acknowledged`);
  return count / ((performance.now() - t0) / 1000);
}

/** The last message is due by now (ms, wall clock) at the latest, once every send was answered. */
export const lastDue = (): number => wallNow() + Math.max(...settings.levelsMs);

/**
 * Waits until every message arrived, or (some lost) until nothing arrived for `quietMs` after
 * the last one was due; then a little longer, for duplicates.
 */
export async function awaitArrivals(arrivals: Arrivals[], dueBy: number, quietMs = 15_000): Promise<void> {
  const received = (): number => arrivals.reduce((n, a) => n + a.received, 0);
  let last = received();
  let since = performance.now();
  while (arrivals.some((a) => a.distinct < a.total)) {
    await sleep(50);
    if (received() !== last) [last, since] = [received(), performance.now()];
    else if (wallNow() > dueBy && performance.now() - since > quietMs) break;
  }
  await sleep(1000);
}

/** Waits until `arrivals` holds half the messages (the moment to kill the process that delays them). */
export async function halfArrived(arrivals: Arrivals): Promise<void> {
  while (arrivals.distinct < arrivals.total / 2) await sleep(5);
}
