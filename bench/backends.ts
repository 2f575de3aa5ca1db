/**
 * bench/backends: mqgate in front of RabbitMQ against amqplib used directly, 1 KiB persistent
 * messages on quorum queues (BENCH_QUEUES a topic), publisher confirms on both sides.
 *
 * - REST single sends, CONNECTIONS keep-alive connections (autocannon), vs amqplib with as many
 *   publishes in flight on one confirm channel
 * - WebSocket publishBatch of BATCH messages a frame, BATCH_WINDOW frames in flight, vs amqplib
 *   publishing the same batches (a batch done once all its confirms came)
 * - consumption of a backlog of MESSAGES: push over WebSocket with CREDIT, ack each, vs an
 *   amqplib consumer with the same prefetch (split over the queues), ack each
 * - publish -> deliver at RATE msgs/s (open loop, RATE_SECONDS after RATE_WARMUP_SECONDS not
 *   measured), the send time in the body: p50/p99/max with hdr-histogram-js
 *
 * The gateway runs in its own process (bench-server.ts, the node flags of `npm start`, ASYNC_FLUSH
 * for its own log); the baseline's amqplib runs in the bench process, which starts with the same
 * flags. Each figure runs ROUNDS rounds alternating the two sides (the side that goes first
 * alternates too) on the same broker; throughput reports the best round of each side,
 * latency the median; each round's ratio is printed too. Every round checks its messages
 * arrived: RabbitMQ's count of the queues after a send, the consumer's count after a consume.
 * Queues, exchanges and groups carry the run's id and are deleted at the end.
 *
 *   npm run bench:backends                                   (about 3 minutes)
 *   BENCH_SECONDS=2 BENCH_ROUNDS=1 BENCH_MESSAGES=10000 BENCH_RATE_SECONDS=2 npm run bench:backends
 *   BENCH_ONLY=consume,latency npm run bench:backends        (some figures only)
 *
 * Env: RABBITMQ_URL (amqp://guest:guest@127.0.0.1:5672), BENCH_SECONDS (4), BENCH_WARMUP_SECONDS
 * (1), BENCH_ROUNDS (3), BENCH_QUEUES (4), BENCH_CONNECTIONS (64), BENCH_BATCH (500),
 * BENCH_BATCH_WINDOW (4), BENCH_MESSAGES (40000), BENCH_CREDIT (256), BENCH_RATE (2000),
 * BENCH_RATE_SECONDS (5), BENCH_RATE_WARMUP_SECONDS (2), BENCH_ONLY (send,batch,consume,latency),
 * BENCH_SERVER_ARGS (node flags for the gateway, e.g. "--cpu-prof --cpu-prof-dir=prof").
 *
 * The run wants the broker to itself: a broker restart meanwhile (the fault tests stop and start
 * the test bed's RabbitMQ) ends it with an error naming what it could not delete.
 */
import type { BenchServer } from './bench-server.js';
import { startBenchServer } from './bench-server.js';
import type { Latency } from './backends-common.js';
import { runId, settings } from './backends-common.js';
import { RabbitBench } from './backends-rabbit.js';
import { DirectSide } from './backends-direct.js';
import { GatewaySide } from './backends-gateway.js';

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const report = (name: string, value: string): void => console.log(`${name.padEnd(60)} ${value}`);
const progress = (line: string): void => void process.stderr.write(`  ${line}\n`);

/** Runs `rounds` rounds of a figure, the two sides in turn (who goes first alternates). */
async function alternate<T>(
  name: string,
  mqgate: (round: number) => Promise<T>,
  direct: (round: number) => Promise<T>,
  show: (x: T) => string,
): Promise<{ mqgate: T[]; direct: T[] }> {
  const out = { mqgate: [] as T[], direct: [] as T[] };
  for (let r = 0; r < settings.rounds; r++) {
    const order = r % 2 === 0 ? (['direct', 'mqgate'] as const) : (['mqgate', 'direct'] as const);
    for (const side of order) {
      const x = await (side === 'mqgate' ? mqgate : direct)(r);
      out[side].push(x);
      progress(`${name} round ${r + 1}: ${side} ${show(x)}`);
    }
  }
  return out;
}

const best = (xs: number[]): number => Math.max(...xs);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

function throughput(title: string, baseline: string, runs: { mqgate: number[]; direct: number[] }): boolean {
  const m = best(runs.mqgate);
  const d = best(runs.direct);
  report(title, `${fmt(m)} msgs/s`);
  report(`  ${baseline} (baseline)`, `${fmt(d)} msgs/s`);
  const ratio = m / d;
  report(
    '  ratio mqgate / direct (target >= 0.70)',
    `${ratio.toFixed(2)}${ratio >= 0.7 ? '' : '  MISSED'}   per round ${runs.direct
      .map((x, i) => ((runs.mqgate[i] ?? 0) / x).toFixed(2))
      .join(' ')}`,
  );
  return ratio >= 0.7;
}

function latency(runs: { mqgate: Latency[]; direct: Latency[] }): boolean {
  const line = (ls: Latency[]): string => {
    const p = (f: (l: Latency) => number): string => median(ls.map(f)).toFixed(2);
    return `p50 ${p((l) => l.p50)} ms, p99 ${p((l) => l.p99)} ms, max ${p((l) => l.max)} ms (${fmt(median(ls.map((l) => l.count)))} measured)`;
  };
  const added = median(runs.mqgate.map((l) => l.p99)) - median(runs.direct.map((l) => l.p99));
  report(`publish -> push over WebSocket at ${fmt(settings.rate)} msgs/s`, line(runs.mqgate));
  report('  amqplib publish -> consume (baseline)', line(runs.direct));
  report(
    '  p99 added by mqgate (target <= 2 ms)',
    `${added.toFixed(2)} ms${added <= 2 ? '' : '  MISSED'}   per round ${runs.direct
      .map((x, i) => ((runs.mqgate[i]?.p99 ?? NaN) - x.p99).toFixed(2))
      .join(' ')}`,
  );
  return added <= 2;
}

const rabbit = await RabbitBench.open(settings.url);
const version = String(rabbit.model.connection.serverProperties.version ?? '?');
const direct = await DirectSide.open(rabbit);
let gw: BenchServer | undefined;
let missed = 0;
try {
  gw = await startBenchServer('mqgate-rabbitmq');
  const mq = await GatewaySide.open(gw.url, rabbit);
  console.log(
    `bench/backends: 1 KiB persistent messages, RabbitMQ ${version}, quorum queues (${settings.queues} a topic), confirms; ` +
      `${settings.rounds} alternating rounds of ${settings.seconds} s; mqgate in its own process, amqplib in the bench process`,
  );
  // each figure is printed once its rounds are done: a broker that goes away later loses only the rest
  const rate = (x: number): string => `${fmt(x)} msgs/s`;
  const wants = (f: string): boolean => settings.only.includes(f);
  const met = (ok: boolean): void => void (missed += ok ? 0 : 1);
  if (wants('send'))
    met(
      throughput(
        `REST single sends, ${settings.connections} keep-alive connections`,
        `amqplib, ${settings.connections} publishes in flight`,
        await alternate(
          'REST sends',
          (r) => mq.sends(`bench-send-${runId}-${r}`),
          (r) => direct.sends(`send${r}`),
          rate,
        ),
      ),
    );
  if (wants('batch'))
    met(
      throughput(
        `WebSocket publishBatch, ${settings.batch} a frame, ${settings.batchWindow} in flight`,
        `amqplib, the same batches with confirms`,
        await alternate(
          'batches',
          (r) => mq.batches(`bench-batch-${runId}-${r}`),
          (r) => direct.batches(`batch${r}`),
          rate,
        ),
      ),
    );
  if (wants('consume'))
    met(
      throughput(
        `push over WebSocket, credit ${settings.credit}, ${fmt(settings.messages)} backlog`,
        `amqplib consumer, prefetch ${settings.credit} over the queues`,
        await alternate(
          'consume',
          (r) => mq.consume(`bench-consume-${runId}-${r}`, settings.messages),
          (r) => direct.consume(`consume${r}`, settings.messages),
          rate,
        ),
      ),
    );
  if (wants('latency'))
    met(
      latency(
        await alternate(
          'latency',
          (r) => mq.latency(`bench-latency-${runId}-${r}`),
          (r) => direct.latency(`latency${r}`),
          (l) => `p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms`,
        ),
      ),
    );
  if (missed > 0) console.log(`${missed} target(s) missed`);
} finally {
  await gw?.stop();
  await direct.close();
  await rabbit.close();
}
