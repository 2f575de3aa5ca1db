/**
 * bench/kafka-delays: delay levels on Kafka two ways (issue 18), in one run on one broker, 1 KiB
 * messages, a real topic of BENCH_QUEUES partitions, delay levels BENCH_DELAY_LEVELS; each way
 * sends BENCH_MESSAGES delayed messages spread evenly over the levels, at full speed with
 * BENCH_WINDOW sends in flight, each body carrying its index and due time (send time + delay):
 *
 * 1. core scheduler (kafka-delays-core.ts): the gateway (its own process, ASYNC_FLUSH) takes the
 *    delayed sends over WebSocket into its log and sends them to the topic when due; then the
 *    same sends undelayed, for the gateway's write path to Kafka
 * 2. delay topic, the Spring Kafka pattern (kafka-delays-topic.ts, kafka-delays-mover.ts): the
 *    bench produces them to a topic with a partition per level; a mover in its own process holds
 *    each partition's head until due (pause, seek, resume) and moves due records to the topic
 * 3. restart, BENCH_RESTART_MESSAGES each (BENCH_RESTART=0 skips it): each way again, the process
 *    holding the delays (the gateway, now on SYNC_FLUSH; the mover) killed with SIGKILL once half
 *    the messages arrived and started again: delivered, lost, duplicated, and the lateness of the
 *    messages due meanwhile
 *
 * In 1 and 2 a gateway's push subscriber (WebSocket, CREDIT, an ack each) and a kafkajs reader
 * of the real topic receive the messages; in 3 the reader. Figures: delayed sends acknowledged/s;
 * lateness (arrival − due) p50/p99/max with hdr-histogram-js, also of the messages due after the
 * last send was answered; exactly once (each index counted); Kafka records written per message.
 * Each with the ratio delay topic / core, then a verdict line. Topics and groups carry the run id
 * and are deleted at the end.
 *
 *   npm run bench:kafka-delays                      (about 2 minutes; the restarts wait most)
 *   BENCH_MESSAGES=4000 BENCH_RESTART=0 npm run bench:kafka-delays             (a short run)
 *
 * Env: KAFKA_BROKERS (127.0.0.1:9092), BENCH_MESSAGES (20000), BENCH_RESTART_MESSAGES (5000),
 * BENCH_WINDOW (64), BENCH_CREDIT (256, the push subscriber's), BENCH_QUEUES (4),
 * BENCH_DELAY_LEVELS ("1s 2s 3s 5s"), BENCH_RESTART (1), BENCH_MOVER_WAIT_MS (100, the mover's
 * fetch wait), BENCH_DIR (where the gateway's logs go; the system's temp dir).
 */
import type { Arrivals, LatenessSummary, RestartResult, WayResult } from './kafka-delays-common.js';
import { settings } from './kafka-delays-common.js';
import { coreRestart, coreScheduler } from './kafka-delays-core.js';
import { KafkaBench } from './kafka-delays-kafka.js';
import { delayTopic, delayTopicRestart } from './kafka-delays-topic.js';

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '-';
const ratio = (topic: number, core: number): string =>
  core === 0 && topic === 0 ? '=' : core === 0 ? 'inf' : `${(topic / core).toFixed(2)}x`;
const progress = (text: string): void => void process.stderr.write(`  ${text}\n`);

/** One figure: its name, the core's value, the delay topic's, and their ratio. */
function row(name: string, core: number, topic: number, digits = 0): void {
  console.log(
    `${name.padEnd(56)} ${fmt(core, digits).padStart(12)} ${fmt(topic, digits).padStart(12)} ${ratio(topic, core).padStart(9)}`,
  );
}

function lateness(what: string, core: LatenessSummary, topic: LatenessSummary): void {
  row(`${what} p50, ms`, core.p50, topic.p50, 1);
  row(`${what} p99, ms`, core.p99, topic.p99, 1);
  row(`${what} max, ms`, core.max, topic.max, 1);
}

function exactlyOnce(what: string, core: Arrivals, topic: Arrivals): void {
  row(`${what}: delivered (distinct)`, core.distinct, topic.distinct);
  row(`${what}: lost`, core.lost, topic.lost);
  row(`${what}: duplicated`, core.duplicates, topic.duplicates);
}

function steady(core: WayResult, topic: WayResult): void {
  row('delayed sends acknowledged, msgs/s', core.sendRate, topic.sendRate);
  if (core.plainRate !== undefined)
    console.log(
      `${'  the same undelayed through the gateway, msgs/s'.padEnd(56)} ${fmt(core.plainRate).padStart(12)}   (the write path a delay topic in the gateway would take)`,
    );
  lateness('lateness on the topic', core.topic.lateness(), topic.topic.lateness());
  const [c, t] = [core.topic.spanLateness(), topic.topic.spanLateness()];
  row('  due after the sends ended: messages', c.count, t.count);
  row('  due after the sends ended: lateness p50, ms', c.p50, t.p50, 1);
  row('  due after the sends ended: lateness p99, ms', c.p99, t.p99, 1);
  if (core.push !== undefined && topic.push !== undefined) {
    lateness('lateness at the push subscriber', core.push.lateness(), topic.push.lateness());
    exactlyOnce('at the push subscriber', core.push, topic.push);
  }
  exactlyOnce('on the topic', core.topic, topic.topic);
  row('Kafka records written per message', core.kafkaRecords, topic.kafkaRecords, 2);
}

function restarted(core: RestartResult, topic: RestartResult): void {
  row('delayed sends acknowledged (core: SYNC_FLUSH), msgs/s', core.sendRate, topic.sendRate);
  row('pending at the kill', core.pendingAtKill, topic.pendingAtKill);
  row('down: kill -> ready again, ms', core.downMs, topic.downMs);
  exactlyOnce('after the restart', core.arrivals, topic.arrivals);
  const [c, t] = [core.arrivals.spanLateness(), topic.arrivals.spanLateness()];
  row('due while down: messages', c.count, t.count);
  row('due while down: lateness p50, ms', c.p50, t.p50, 1);
  row('due while down: lateness max, ms', c.max, t.max, 1);
  row('all: lateness p99, ms', core.arrivals.lateness().p99, topic.arrivals.lateness().p99, 1);
}

/** A figure the verdict weighs: the two values, and whether less is better. */
type Criterion = readonly [name: string, core: number, topic: number, lessIsBetter: boolean];

/** Each figure's better way, and the way better in more of them. */
function verdict(
  core: WayResult,
  topic: WayResult,
  r?: { core: RestartResult; topic: RestartResult },
): string {
  const criteria: Criterion[] = [
    [
      'lost',
      core.topic.lost + (r?.core.arrivals.lost ?? 0),
      topic.topic.lost + (r?.topic.arrivals.lost ?? 0),
      true,
    ],
    [
      'duplicated',
      core.topic.duplicates + (r?.core.arrivals.duplicates ?? 0),
      topic.topic.duplicates + (r?.topic.arrivals.duplicates ?? 0),
      true,
    ],
    ['lateness p99', core.topic.lateness().p99, topic.topic.lateness().p99, true],
    ['sends/s', core.sendRate, topic.sendRate, false],
    ['Kafka writes a message', core.kafkaRecords, topic.kafkaRecords, true],
  ];
  if (r !== undefined)
    criteria.push(
      ['down after a kill', r.core.downMs, r.topic.downMs, true],
      [
        'lateness of those due while down, max',
        r.core.arrivals.spanLateness().max,
        r.topic.arrivals.spanLateness().max,
        true,
      ],
    );
  const won = { core: [] as string[], topic: [] as string[] };
  for (const [name, c, t, lessIsBetter] of criteria) {
    if (c === t) continue;
    won[c < t === lessIsBetter ? 'core' : 'topic'].push(`${name} ${fmt(c, 1)} vs ${fmt(t, 1)}`);
  }
  const [n, m] = [won.core.length, won.topic.length];
  const winner = n === m ? 'even' : n > m ? 'core scheduler' : 'delay topic';
  const list = (xs: string[]): string => (xs.length === 0 ? 'none' : xs.join(', '));
  return `verdict: ${winner}, better in ${Math.max(n, m)} of ${criteria.length} figures; core better: ${list(won.core)}; delay topic better: ${list(won.topic)}`;
}

const bench = await KafkaBench.open(settings.kafkaBrokers);
try {
  console.log(
    `Kafka delay levels: ${settings.messages} messages of 1 KiB over levels "${settings.levelsText}", ${settings.window} sends in flight, a topic of ${settings.partitions} partitions`,
  );
  const core = await coreScheduler(bench);
  progress(
    `core scheduler: ${fmt(core.sendRate)} sends/s, lateness p99 ${fmt(core.topic.lateness().p99, 1)} ms`,
  );
  const topic = await delayTopic(bench);
  progress(
    `delay topic: ${fmt(topic.sendRate)} sends/s, lateness p99 ${fmt(topic.topic.lateness().p99, 1)} ms`,
  );
  let restart: { core: RestartResult; topic: RestartResult } | undefined;
  if (settings.restart) {
    const coreAgain = await coreRestart(bench);
    progress(`core scheduler restart: down ${fmt(coreAgain.downMs)} ms`);
    restart = { core: coreAgain, topic: await delayTopicRestart(bench) };
  }
  console.log(
    `${''.padEnd(56)} ${'core'.padStart(12)} ${'delay topic'.padStart(12)} ${'topic/core'.padStart(9)}`,
  );
  steady(core, topic);
  if (restart !== undefined) {
    console.log(
      `restart, ${settings.restartMessages} messages (kill -9 of the gateway on SYNC_FLUSH / of the mover, then started again):`,
    );
    restarted(restart.core, restart.topic);
  }
  console.log(verdict(core, topic, restart));
} finally {
  await bench.close();
}
