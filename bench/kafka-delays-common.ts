/**
 * What both ways of bench/kafka-delays share: the settings (env vars, see kafka-delays.ts), the
 * plan of the messages (message i gets delay level i mod levels + 1), the 1 KiB bodies that carry
 * their index and due time, and the tally of what arrived: each index counted (exactly once?),
 * lateness (arrival − due) in hdr-histogram-js, and apart for the messages due in a span (after
 * the sends, while a process was down).
 */
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { parseDelayLevels } from '../src/broker/delay-levels.js';

function positive(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0)
    throw new Error(`${name} must be a number > 0, not "${process.env[name]}"`);
  return v;
}

const levelsText = process.env.BENCH_DELAY_LEVELS ?? '1s 2s 3s 5s';

export const settings = {
  kafkaBrokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
  messages: positive('BENCH_MESSAGES', 20_000),
  /** Fewer for the restarts: their sends must be answered well before half the messages are due. */
  restartMessages: positive('BENCH_RESTART_MESSAGES', 5000),
  window: positive('BENCH_WINDOW', 64),
  credit: positive('BENCH_CREDIT', 256),
  /** Partitions of the real topic (the delay topic has one per level). */
  partitions: positive('BENCH_QUEUES', 4),
  levelsText,
  levelsMs: parseDelayLevels(levelsText, 'BENCH_DELAY_LEVELS'),
  /** The mover's fetch wait (kafkajs maxWaitTimeInMs). */
  moverWaitMs: positive('BENCH_MOVER_WAIT_MS', 100),
  restart: process.env.BENCH_RESTART !== '0',
};

/** Wall-clock time in ms with µs in the fraction (due times cross processes: not performance.now()). */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** Message i's delay level (1-based): the messages are spread evenly over the levels. */
export const levelOf = (i: number): number => (i % settings.levelsMs.length) + 1;

/** Message i's due time when sent now. */
export const dueOf = (i: number): number => wallNow() + (settings.levelsMs[levelOf(i) - 1] as number);

/** A 1 KiB body: `{index} {due} ` and padding. */
export function delayedBody(i: number, due: number): string {
  return `${i} ${due.toFixed(3)} `.padEnd(1024, 'x');
}

/** The index and due time a body starts with (`at`: where the body starts in `text`). */
export function parseBody(text: string, at = 0): { index: number; due: number } {
  const space = text.indexOf(' ', at);
  return { index: Number(text.slice(at, space)), due: parseFloat(text.slice(space + 1, space + 24)) };
}

export interface LatenessSummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

const histogram = () => hdr.build({ lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });

function summarize(h: hdr.Histogram): LatenessSummary {
  const ms = (us: number): number => us / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue),
  };
}

/** What arrived of the run's messages, where (a push subscriber, a reader of the topic) saw them. */
export class Arrivals {
  readonly #seen: Uint8Array;
  readonly #all = histogram();
  readonly #apart = histogram();
  /** Messages due in this wall-clock span are counted apart too. */
  span = { from: Infinity, to: -Infinity };
  received = 0;
  distinct = 0;
  /** Arrivals of a message already seen. */
  duplicates = 0;

  constructor(readonly total: number) {
    this.#seen = new Uint8Array(total);
  }

  record(index: number, due: number): void {
    this.received++;
    if (!(index >= 0 && index < this.total)) throw new Error(`a message of no index: ${index}`);
    if (this.#seen[index] === 1) {
      this.duplicates++;
      return;
    }
    this.#seen[index] = 1;
    this.distinct++;
    const late = Math.max(1, Math.round((wallNow() - due) * 1000));
    this.#all.recordValue(late);
    if (due >= this.span.from && due <= this.span.to) this.#apart.recordValue(late);
  }

  /** Lateness of every message (its first arrival), ms. */
  lateness(): LatenessSummary {
    return summarize(this.#all);
  }

  /** Lateness of the messages due in `span`, ms. */
  spanLateness(): LatenessSummary {
    return summarize(this.#apart);
  }

  get lost(): number {
    return this.total - this.distinct;
  }
}

/** What one way measured. */
export interface WayResult {
  /** Delayed sends acknowledged per second (all N, first send to last answer). */
  readonly sendRate: number;
  /** The same sends undelayed, through the gateway to Kafka (the core way only). */
  readonly plainRate?: number;
  /** Records written to Kafka per message (the topics' offsets: the delay topic's too). */
  readonly kafkaRecords: number;
  /** Seen by a reader of the real topic (kafkajs); its span: due after the last send's answer. */
  readonly topic: Arrivals;
  /** Seen by the gateway's push subscriber (the core way only). */
  readonly push?: Arrivals;
}

/** What a restart measured. */
export interface RestartResult {
  /** Delayed sends acknowledged per second (the gateway on SYNC_FLUSH). */
  readonly sendRate: number;
  readonly arrivals: Arrivals;
  /** Messages not yet arrived when the process was killed. */
  readonly pendingAtKill: number;
  /** From the kill to the process being ready again, ms. */
  readonly downMs: number;
}
