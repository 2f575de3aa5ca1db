/**
 * bench/consume: the broker core's consumption figures for 1 KiB messages, next to the store's
 * raw read rate measured in the same run on the same backlog.
 *
 *   npm run bench:consume                       (about a minute)
 *   BENCH_MESSAGES=50000 npm run bench:consume  (smaller backlog)
 *
 * - raw read (baseline): store.getMessages pulls of 32 over the topic's queues, no group
 * - POP: receive 32 at a time, ack each one
 * - push: one subscription (credit 256), ack each delivery
 * The three run in turn, BENCH_ROUNDS times (5 by default; each round with new groups over the
 * same backlog), and the best round of each is reported: the machine's speed moves between
 * rounds (a shared VM), and alternating puts the baseline and the measured paths under the same
 * conditions.
 * - latency: send -> push delivery at a fixed rate (5k msgs/s by default), p50/p99/max, after
 *   a first second at the same rate that warms up and is not measured
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker } from '../src/broker/index.js';

const MSG = 1024;
const TOTAL = Number(process.env.BENCH_MESSAGES ?? 200_000);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 5);
const QUEUES = 4;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const WARMUP_MS = 1000;
/** Runs only the phases named (comma-separated: pop, push, latency); all by default. */
const ONLY = (process.env.BENCH_ONLY ?? 'pop,push,latency').split(',');
const root = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'mqgate-bench-consume-'));
const payload = Buffer.alloc(MSG, 'x');
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const report = (name: string, value: string): void => console.log(`${name.padEnd(62)} ${value}`);

async function fill(broker: Broker, topic: string): Promise<void> {
  broker.upsertTopic(topic, { queues: QUEUES });
  const batch = 512;
  for (let i = 0; i < TOTAL; i += batch) {
    const n = Math.min(batch, TOTAL - i);
    await broker.store.putMessages(
      Array.from({ length: n }, (_, j) => ({ topic, queueId: (i + j) % QUEUES, body: payload, tag: 'TagA' })),
    );
  }
  await broker.store.flush();
}

async function rawRead(broker: Broker, topic: string): Promise<number> {
  const t = performance.now();
  let n = 0;
  const offsets = new Array<number>(QUEUES).fill(0);
  for (let live = QUEUES; live > 0;) {
    live = 0;
    for (let q = 0; q < QUEUES; q++) {
      const r = await broker.store.getMessages(topic, q, offsets[q] as number, 32);
      n += r.messages.length;
      offsets[q] = r.nextBeginOffset;
      if (r.messages.length > 0) live++;
    }
  }
  if (n !== TOTAL) throw new Error(`raw read found ${n} of ${TOTAL}`);
  return n / ((performance.now() - t) / 1000);
}

async function popRate(broker: Broker, topic: string, group: string): Promise<number> {
  broker.upsertGroup(group, { consumeFrom: 'FIRST' });
  const t = performance.now();
  let n = 0;
  for (;;) {
    const got = await broker.receive(group, { topic, maxMessages: 32 });
    if (got.length === 0) break;
    for (const m of got) broker.ack(group, topic, m.receiptHandle);
    n += got.length;
  }
  if (n !== TOTAL) throw new Error(`POP received ${n} of ${TOTAL}`);
  return n / ((performance.now() - t) / 1000);
}

async function pushRate(broker: Broker, topic: string, group: string): Promise<number> {
  broker.upsertGroup(group, { consumeFrom: 'FIRST' });
  const t = performance.now();
  let n = 0;
  const sub = broker.subscribe(group, topic, { credit: 256 });
  for await (const d of sub) {
    d.ack();
    if (++n === TOTAL) break;
  }
  return n / ((performance.now() - t) / 1000);
}

async function latency(broker: Broker): Promise<{ p50: number; p99: number; max: number; sent: number }> {
  const topic = 'Latency';
  broker.upsertTopic(topic, { queues: QUEUES });
  broker.upsertGroup('lat');
  const sub = broker.subscribe('lat', topic, { credit: 256 });
  const samples: number[] = [];
  const total = RATE * RATE_SECONDS;
  let received = 0;
  let start = Infinity;
  const consumer = (async () => {
    for await (const d of sub) {
      const sentAt = d.message.body.readDoubleLE(0);
      // the first second warms up (JIT, first reads): counted, not measured
      if (sentAt - start >= WARMUP_MS) samples.push(performance.now() - sentAt);
      d.ack();
      if (++received === total) break;
    }
  })();
  await new Promise((r) => setTimeout(r, 100));
  start = performance.now();
  let sent = 0;
  let failed = 0;
  // no array of pending sends: keeping 25k promises alive would promote them and time the GC
  const onError = (): void => void failed++;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * RATE));
    for (; sent < due; sent++) {
      const body = Buffer.alloc(MSG);
      body.writeDoubleLE(performance.now(), 0);
      broker.send(topic, { body }).catch(onError);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await consumer;
  if (failed > 0) throw new Error(`${failed} sends failed`);
  samples.sort((a, b) => a - b);
  const at = (p: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: samples[samples.length - 1] ?? NaN, sent: samples.length };
}

const broker = await Broker.open({ dataDir: root });
try {
  console.log(
    `bench/consume: ${fmt(TOTAL)} messages of ${MSG} B in ${QUEUES} queues; node ${process.version}, ${os.cpus().length} cpus`,
  );
  await fill(broker, 'Backlog');
  let raw = 0;
  let pop = 0;
  let push = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await rawRead(broker, 'Backlog');
    raw = Math.max(raw, r);
    const line = [`raw ${fmt(r)}`];
    if (ONLY.includes('pop')) {
      const p = await popRate(broker, 'Backlog', `pop-${round}`);
      pop = Math.max(pop, p);
      line.push(`POP ${fmt(p)} (${(p / r).toFixed(2)}x)`);
    }
    if (ONLY.includes('push')) {
      const p = await pushRate(broker, 'Backlog', `push-${round}`);
      push = Math.max(push, p);
      line.push(`push ${fmt(p)} (${(p / r).toFixed(2)}x)`);
    }
    report(`round ${round} (msgs/s)`, line.join(', '));
  }
  report('baseline: store raw read, pulls of 32 (msgs/s, best round)', fmt(raw));
  if (ONLY.includes('pop')) {
    report('POP receive 32 + ack each (msgs/s, best round)', fmt(pop));
    report('  ratio to raw read', `${(pop / raw).toFixed(2)}x`);
  }
  if (ONLY.includes('push')) {
    report('push delivery + ack, credit 256 (msgs/s, best round)', fmt(push));
    report('  ratio to raw read (target >= 0.50x)', `${(push / raw).toFixed(2)}x`);
  }
  if (!ONLY.includes('latency')) process.exit(0);
  const lat = await latency(broker);
  report(`send -> push delivery at ${fmt(RATE)} msgs/s, p50 (ms)`, lat.p50.toFixed(2));
  report(`send -> push delivery at ${fmt(RATE)} msgs/s, p99 (ms, target < 5)`, lat.p99.toFixed(2));
  report(`send -> push delivery at ${fmt(RATE)} msgs/s, max (ms)`, lat.max.toFixed(2));
} finally {
  await broker.close();
  fs.rmSync(root, { recursive: true, force: true });
}
