/**
 * What both sides of bench/backends share: the settings (env vars, see bench/backends.ts), what
 * a side and a backend's probe offer, the 1 KiB bodies, the pump that keeps a number of
 * publishes in flight, open-loop pacing, the latency histogram and the check that a figure's
 * messages arrived.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';

function positive(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0)
    throw new Error(`${name} must be a number > 0, not "${process.env[name]}"`);
  return v;
}

const BACKENDS = ['rabbitmq', 'kafka'] as const;
export type BackendType = (typeof BACKENDS)[number];

function backends(): BackendType[] {
  const names = (process.env.BENCH_BACKENDS ?? BACKENDS.join(',')).split(',').filter((b) => b !== '');
  const unknown = names.filter((b) => !(BACKENDS as readonly string[]).includes(b));
  if (unknown.length > 0 || names.length === 0)
    throw new Error(`BENCH_BACKENDS takes ${BACKENDS.join(', ')}, not "${process.env.BENCH_BACKENDS}"`);
  return BACKENDS.filter((b) => names.includes(b));
}

export const settings = {
  backends: backends(),
  url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  seconds: positive('BENCH_SECONDS', 4),
  warmupSeconds: positive('BENCH_WARMUP_SECONDS', 1),
  rounds: positive('BENCH_ROUNDS', 3),
  queues: positive('BENCH_QUEUES', 4),
  connections: positive('BENCH_CONNECTIONS', 64),
  batch: positive('BENCH_BATCH', 500),
  batchWindow: positive('BENCH_BATCH_WINDOW', 4),
  messages: positive('BENCH_MESSAGES', 40_000),
  credit: positive('BENCH_CREDIT', 256),
  rate: positive('BENCH_RATE', 2000),
  rateSeconds: positive('BENCH_RATE_SECONDS', 5),
  /** The latency runs start at the full rate on new queues: a longer warm-up than the throughput runs. */
  rateWarmupSeconds: positive('BENCH_RATE_WARMUP_SECONDS', 2),
  only: (process.env.BENCH_ONLY ?? 'send,batch,consume,latency').split(','),
};

/** One id per run: every topic, group, exchange and queue of the run carries it. */
export const runId = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;

export const BODY = 'x'.repeat(1024);

/** A 1 KiB body that starts with a time of this process (performance.now(), ms). */
export function timedBody(at: number): string {
  return `${at.toFixed(3)} `.padEnd(1024, 'x');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One side of the figures on a backend (the gateway in front of it, or its client used directly). */
export interface Side {
  /** Single sends: msgs/s. */
  sends(name: string): Promise<number>;
  /** Batches of BATCH messages, BATCH_WINDOW in flight: msgs/s. */
  batches(name: string): Promise<number>;
  /** A backlog of `expected` messages consumed: msgs/s. */
  consume(name: string, expected: number): Promise<number>;
  /** Publish -> deliver at RATE msgs/s. */
  latency(name: string): Promise<Latency>;
}

/** What arrived in a topic the gateway sends to, seen on the backend itself. */
export interface Counter {
  /** The count once it reached `atLeast`, or whatever it is after a few seconds. */
  until(atLeast: number): Promise<number>;
  /** Done counting: frees what the count took (or leaves it for the end of the run). */
  drop(): Promise<void>;
}

/** The run's own view of a backend, for the gateway side: counts, and what to delete at the end. */
export interface BackendProbe {
  /** The gateway's backend of this name and type. */
  readonly backend: BackendType;
  /** Counts what is sent to the gateway's `topic` (just made) from now on. */
  counting(topic: string): Promise<Counter>;
  /** The gateway made the run's group, or (with `topic`) the group's consumers of a topic. */
  groupMade(group: string, topic?: string): void;
}

/** A publish of `n` messages under way: calls done(n, ok) once they all settled. */
export type Starter = (done: (n: number, ok: boolean) => void) => boolean;

export interface Flow {
  /** Messages confirmed per second in the measured part (NaN when not timed). */
  readonly rate: number;
  readonly confirmed: number;
  readonly failed: number;
}

/** A publish that has not settled after this long ends the run (a broker blocked or gone). */
const STALL_MS = 15_000;

/**
 * Keeps `window` publishes in flight: each settled one starts the next. Timed: runs
 * `warmupMs`, measures the confirmed messages over `measureMs`, then starts no more. Otherwise
 * runs until `start` answers false. Resolves once every publish started has settled; rejects
 * when none settled for STALL_MS, or when nothing at all was confirmed.
 */
export function keepInFlight(
  window: number,
  start: Starter,
  timing?: { warmupMs: number; measureMs: number },
): Promise<Flow> {
  return new Promise((resolve, reject) => {
    let inFlight = 0;
    let confirmed = 0;
    let failed = 0;
    let open = true;
    let rate = NaN;
    let lastSettled = performance.now();
    const watchdog = setInterval(() => {
      if (inFlight === 0 || performance.now() - lastSettled < STALL_MS) return;
      clearInterval(watchdog);
      open = false;
      reject(
        new Error(`no publish settled for ${STALL_MS} ms (${inFlight} under way): is the broker blocked?`),
      );
    }, 1000);
    const settled = (): void => {
      if (open || inFlight > 0) return;
      clearInterval(watchdog);
      if (confirmed === 0) reject(new Error(`no publish was confirmed (${failed} failed)`));
      else resolve({ rate, confirmed, failed });
    };
    const done = (n: number, ok: boolean): void => {
      inFlight--;
      lastSettled = performance.now();
      if (ok) confirmed += n;
      else failed += n;
      fill();
    };
    const fill = (): void => {
      while (open && inFlight < window) {
        inFlight++;
        if (!start(done)) {
          inFlight--;
          open = false;
        }
      }
      settled();
    };
    if (timing !== undefined)
      setTimeout(() => {
        const c0 = confirmed;
        const t0 = performance.now();
        setTimeout(() => {
          rate = (confirmed - c0) / ((performance.now() - t0) / 1000);
          open = false;
          settled();
        }, timing.measureMs);
      }, timing.warmupMs);
    fill();
  });
}

/** Calls send(i) for i = 0..total-1 at `rate` a second (open loop: a late one goes at once, none is skipped). */
export async function paced(rate: number, total: number, send: (i: number) => void): Promise<void> {
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / rate - performance.now();
    if (wait > 1) await sleep(wait);
    send(i);
  }
}

export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Messages measured (sent after the warm-up). */
  readonly count: number;
}

/** Publish -> deliver times of the messages sent from `from` on (earlier ones are the warm-up). */
export class LatencyRecorder {
  readonly #h = hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });
  from = Infinity;
  received = 0;

  /** A delivery of a message sent at `sentAt` (performance.now() of this process). */
  record(sentAt: number): void {
    this.received++;
    if (sentAt >= this.from)
      this.#h.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
  }

  summary(): Latency {
    const ms = (us: number): number => us / 1000;
    return {
      p50: ms(this.#h.getValueAtPercentile(50)),
      p99: ms(this.#h.getValueAtPercentile(99)),
      max: ms(this.#h.maxValue),
      count: this.#h.totalCount,
    };
  }
}

/**
 * Waits until `ready()`; fails saying `what` when `progress()` (a count that grows while things
 * arrive) has not moved for `stallMs`: lost messages end a run instead of hanging it.
 */
export async function until(
  what: string,
  ready: () => boolean,
  progress: () => number = () => 0,
  stallMs = 10_000,
): Promise<void> {
  let last = progress();
  let since = performance.now();
  while (!ready()) {
    await sleep(20);
    const now = progress();
    if (now !== last) [last, since] = [now, performance.now()];
    else if (performance.now() - since > stallMs)
      throw new Error(`nothing moved for ${stallMs} ms waiting for ${what} (at ${now})`);
  }
}

/**
 * Checks that the messages a figure counted arrived: `arrived` must lie within
 * expected..expected+slack (slack: publishes whose answer the load generator did not wait for).
 */
export function checkArrived(what: string, arrived: number, expected: number, slack = 0): void {
  if (arrived >= expected && arrived <= expected + slack) return;
  const want = slack === 0 ? `${expected}` : `${expected}..${expected + slack}`;
  throw new Error(`${what}: ${arrived} messages arrived, ${want} expected`);
}
