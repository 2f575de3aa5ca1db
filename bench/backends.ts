/**
 * bench/backends: mqgate in front of a broker against the broker's client used directly, 1 KiB
 * messages, each figure printed with its ratio to the baseline measured in the same run.
 * Backends (BENCH_BACKENDS, both by default), one after the other:
 *
 * - rabbitmq: persistent messages on quorum queues (BENCH_QUEUES a topic), publisher confirms on
 *   both sides; the baseline is amqplib (backends-direct.ts)
 * - kafka: topics of BENCH_QUEUES partitions, idempotent sends with acks -1 on both sides; the
 *   baseline is kafkajs (backends-kafka.ts)
 *
 * Figures, each for both backends:
 * - REST single sends, CONNECTIONS keep-alive connections (autocannon), vs as many single
 *   publishes in flight (amqplib on one confirm channel; kafkajs a send() each, target >= 1.0:
 *   mqgate coalesces concurrent sends into produce requests, kafkajs does not)
 * - WebSocket publishBatch of BATCH messages a frame, BATCH_WINDOW frames in flight, vs the
 *   client publishing the same batches as many in flight (amqplib: done once all its confirms
 *   came; kafkajs: a send() of BATCH messages)
 * - consumption of a backlog of MESSAGES: push over WebSocket with CREDIT, ack each, vs the
 *   client's consumer (amqplib: the same prefetch, split over the queues, ack each; kafkajs: a
 *   consumer group, eachMessage, committing after each batch)
 * - publish -> deliver at RATE msgs/s (open loop, RATE_SECONDS after RATE_WARMUP_SECONDS not
 *   measured), the send time in the body: p50/p99/max with hdr-histogram-js
 *
 * The gateway runs in its own process (bench-server.ts, the node flags of `npm start`, ASYNC_FLUSH
 * for its own log), one for each backend with only that backend; the baselines run in the bench
 * process, which starts with the same flags. Each figure runs ROUNDS rounds alternating the two
 * sides on the same broker (backends-report.ts); throughput reports the best round of each side,
 * latency the median. Every round checks its messages arrived: the broker's count after a send
 * (RabbitMQ's queues, Kafka's offsets), the consumer's count after a consume. Queues, exchanges,
 * topics and groups carry the run's id and are deleted at the end.
 *
 *   npm run bench:backends                                   (about 6 minutes, 3 a backend)
 *   BENCH_SECONDS=2 BENCH_ROUNDS=1 BENCH_MESSAGES=10000 BENCH_RATE_SECONDS=2 npm run bench:backends
 *   BENCH_BACKENDS=kafka BENCH_ONLY=consume,latency npm run bench:backends   (some figures only)
 *
 * Env: BENCH_BACKENDS (rabbitmq,kafka), RABBITMQ_URL (amqp://guest:guest@127.0.0.1:5672),
 * KAFKA_BROKERS (127.0.0.1:9092), BENCH_SECONDS (4), BENCH_WARMUP_SECONDS (1), BENCH_ROUNDS (3),
 * BENCH_QUEUES (4), BENCH_CONNECTIONS (64), BENCH_BATCH (500), BENCH_BATCH_WINDOW (4),
 * BENCH_MESSAGES (40000), BENCH_CREDIT (256), BENCH_RATE (2000), BENCH_RATE_SECONDS (5),
 * BENCH_RATE_WARMUP_SECONDS (2), BENCH_ONLY (send,batch,consume,latency), BENCH_SERVER_ARGS (node
 * flags for the gateway, e.g. "--cpu-prof --cpu-prof-dir=prof").
 *
 * The run wants the brokers to itself: a broker restart meanwhile (the fault tests stop and start
 * the test bed's brokers) ends it with an error naming what it could not delete.
 */
import type { BenchServer } from './bench-server.js';
import { startBenchServer } from './bench-server.js';
import type { BackendProbe, BackendType, Side } from './backends-common.js';
import { runId, settings } from './backends-common.js';
import { alternate, fmt, latency, throughput } from './backends-report.js';
import { RabbitBench } from './backends-rabbit.js';
import { DirectSide } from './backends-direct.js';
import { KafkaBench, KafkaDirect } from './backends-kafka.js';
import { GatewaySide } from './backends-gateway.js';

/** A backend's part of the run: the probe the gateway side counts with, and the baseline. */
interface BackendRun {
  /** The line that opens the backend's figures. */
  readonly title: string;
  readonly probe: BackendProbe;
  readonly direct: Side;
  /** Each figure's baseline, as printed. */
  readonly baselines: { sends: string; batches: string; consume: string; latency: string };
  readonly sendsTarget: number;
  /** The p99 mqgate may add to the latency, ms (none: no target). */
  readonly latencyTargetMs?: number;
  /** Deletes what the run made on the broker (once the gateway is gone) and disconnects. */
  close(): Promise<void>;
}

async function openRabbit(): Promise<BackendRun> {
  const rabbit = await RabbitBench.open(settings.url);
  const version = String(rabbit.model.connection.serverProperties.version ?? '?');
  const direct = await DirectSide.open(rabbit);
  return {
    title: `RabbitMQ ${version}: 1 KiB persistent messages, quorum queues (${settings.queues} a topic), confirms`,
    probe: rabbit,
    direct,
    baselines: {
      sends: `amqplib, ${settings.connections} publishes in flight`,
      batches: 'amqplib, the same batches with confirms',
      consume: `amqplib consumer, prefetch ${settings.credit} over the queues`,
      latency: 'amqplib publish -> consume',
    },
    sendsTarget: 0.7,
    latencyTargetMs: 2,
    close: async () => {
      await direct.close();
      await rabbit.close();
    },
  };
}

async function openKafka(): Promise<BackendRun> {
  const kafka = await KafkaBench.open(settings.kafkaBrokers);
  const direct = await KafkaDirect.open(kafka);
  return {
    title: `Kafka at ${settings.kafkaBrokers.join(',')}: 1 KiB messages, ${settings.queues} partitions a topic, idempotent, acks -1`,
    probe: kafka,
    direct,
    baselines: {
      sends: `kafkajs, ${settings.connections} send()s of one message in flight`,
      batches: `kafkajs, send() of ${settings.batch} messages, ${settings.batchWindow} in flight`,
      consume: 'kafkajs consumer group, eachMessage, commits',
      latency: 'kafkajs send() each (not idempotent) -> eachMessage',
    },
    sendsTarget: 1.0,
    close: async () => {
      await direct.close();
      await kafka.close();
    },
  };
}

/** Runs and prints the figures BENCH_ONLY asks for on one backend: how many missed their target. */
async function figures(type: BackendType, mq: Side, b: BackendRun): Promise<number> {
  const { direct, baselines } = b;
  const rate = (x: number): string => `${fmt(x)} msgs/s`;
  const wants = (f: string): boolean => settings.only.includes(f);
  // each figure is printed once its rounds are done: a broker that goes away later loses only the rest
  let missed = 0;
  const met = (ok: boolean): void => void (missed += ok ? 0 : 1);
  const topic = (figure: string, r: number): string => `bench-${figure}-${runId}-${r}`;
  const progress = (figure: string): string => `${type} ${figure}`;
  if (wants('send'))
    met(
      throughput(
        `REST single sends, ${settings.connections} keep-alive connections`,
        baselines.sends,
        await alternate(
          progress('sends'),
          (r) => mq.sends(topic('send', r)),
          (r) => direct.sends(`send${r}`),
          rate,
        ),
        b.sendsTarget,
      ),
    );
  if (wants('batch'))
    met(
      throughput(
        `WebSocket publishBatch, ${settings.batch} a frame, ${settings.batchWindow} in flight`,
        baselines.batches,
        await alternate(
          progress('batches'),
          (r) => mq.batches(topic('batch', r)),
          (r) => direct.batches(`batch${r}`),
          rate,
        ),
        0.7,
      ),
    );
  if (wants('consume'))
    met(
      throughput(
        `push over WebSocket, credit ${settings.credit}, ${fmt(settings.messages)} backlog`,
        baselines.consume,
        await alternate(
          progress('consume'),
          (r) => mq.consume(topic('consume', r), settings.messages),
          (r) => direct.consume(`consume${r}`, settings.messages),
          rate,
        ),
        0.7,
      ),
    );
  if (wants('latency'))
    met(
      latency(
        `publish -> push over WebSocket at ${fmt(settings.rate)} msgs/s`,
        baselines.latency,
        await alternate(
          progress('latency'),
          (r) => mq.latency(topic('latency', r)),
          (r) => direct.latency(`latency${r}`),
          (l) => `p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms`,
        ),
        b.latencyTargetMs,
      ),
    );
  return missed;
}

console.log(
  `bench/backends: ${settings.rounds} alternating rounds of ${settings.seconds} s; ` +
    'mqgate in its own process, the baselines in the bench process',
);
let missed = 0;
for (const type of settings.backends) {
  const b = await (type === 'rabbitmq' ? openRabbit() : openKafka());
  let gw: BenchServer | undefined;
  try {
    gw = await startBenchServer(`mqgate-${type}`);
    const mq = await GatewaySide.open(gw.url, b.probe);
    console.log(`\n${b.title}`);
    missed += await figures(type, mq, b);
  } finally {
    await gw?.stop();
    await b.close();
  }
}
if (missed > 0) console.log(`\n${missed} target(s) missed`);
