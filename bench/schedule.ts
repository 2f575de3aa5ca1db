/**
 * bench/schedule: timer precision under load, and transactions against plain sends.
 *
 *   npm run bench:schedule                    (about 90 s)
 *   BENCH_TIMERS=20000 BENCH_SPREAD_S=15 npm run bench:schedule   (a short run)
 *
 * - lateness (delivered − due) p50/p99/max of BENCH_TIMERS timers (100k) due evenly over
 *   BENCH_SPREAD_S seconds (60), while normal traffic of BENCH_RATE msgs/s (5k) is sent and
 *   consumed by a push subscriber;
 * - prepare+commit per second next to plain sends per second, both with 64 in flight, in the
 *   same run (target: transactions >= 40% of plain sends). The two alternate in BENCH_TX_SLICES
 *   (20) slices of BENCH_TX_SLICE_MS (300 ms) each, so that both see the same machine: its speed
 *   moves by tens of percent within seconds on a shared VM (rounds of 3 s gave ratios from 0.26
 *   to 0.45 in one run). Reported: each one's rate over all its slices, their ratio, and the
 *   median and range of the ratios of neighbouring slices.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Broker } from '../src/broker/index.js';

const TIMERS = Number(process.env.BENCH_TIMERS ?? 100_000);
const SPREAD_S = Number(process.env.BENCH_SPREAD_S ?? 60);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const TX_SLICES = Number(process.env.BENCH_TX_SLICES ?? 20);
const TX_SLICE_MS = Number(process.env.BENCH_TX_SLICE_MS ?? 300);
const MSG = 1024;
const root = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'mqgate-bench-schedule-'));
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const report = (name: string, value: string): void => console.log(`${name.padEnd(62)} ${value}`);
const payload = Buffer.alloc(MSG, 'x');

async function lateness(broker: Broker): Promise<void> {
  broker.upsertTopic('Timers', { queues: 4 });
  broker.upsertTopic('Traffic', { queues: 4 });
  broker.upsertGroup('timers');
  broker.upsertGroup('traffic');
  const timers = broker.subscribe('timers', 'Timers', { credit: 256 });
  const traffic = broker.subscribe('traffic', 'Traffic', { credit: 256 });
  const late: number[] = [];
  const drainTimers = (async () => {
    for await (const d of timers) {
      late.push(Date.now() - d.message.body.readDoubleLE(0));
      d.ack();
      if (late.length === TIMERS) break;
    }
  })();
  let trafficIn = 0;
  void (async () => {
    for await (const d of traffic) {
      trafficIn++;
      d.ack();
    }
  })();
  // schedule: due evenly over the spread, starting 2 s from now (sent in batches first)
  const start = Date.now() + 2000;
  const step = (SPREAD_S * 1000) / TIMERS;
  for (let i = 0; i < TIMERS; i += 500) {
    await Promise.all(
      Array.from({ length: Math.min(500, TIMERS - i) }, (_, j) => {
        const due = Math.round(start + (i + j) * step);
        const body = Buffer.alloc(MSG);
        body.writeDoubleLE(due, 0);
        return broker.send('Timers', { body, deliverAt: due });
      }),
    );
  }
  report(
    'timers scheduled',
    `${fmt(TIMERS)} over ${SPREAD_S} s (sent in ${((Date.now() - start + 2000) / 1000).toFixed(1)} s)`,
  );
  const rss = process.memoryUsage().rss / 1e6;
  // normal traffic at RATE until the timers are done
  let sent = 0;
  const t0 = performance.now();
  while (late.length < TIMERS) {
    const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
    for (; sent < due; sent++) void broker.send('Traffic', { body: payload }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1));
  }
  await drainTimers;
  timers.close();
  traffic.close();
  late.sort((a, b) => a - b);
  const at = (p: number): number => late[Math.min(late.length - 1, Math.floor(p * late.length))] ?? NaN;
  report('RSS with all timers pending (MB)', rss.toFixed(0));
  report(
    `traffic sent / consumed meanwhile (target rate ${fmt(RATE)}/s)`,
    `${fmt(sent)} / ${fmt(trafficIn)}`,
  );
  report('timer lateness p50 (ms)', at(0.5).toFixed(1));
  report('timer lateness p99 (ms, target <= 50)', at(0.99).toFixed(1));
  report('timer lateness max (ms)', (late[late.length - 1] ?? NaN).toFixed(1));
}

/** Runs `fn` with 64 in flight for `ms`; answers how many ended and in how many ms. */
async function slice(fn: () => Promise<unknown>, ms: number): Promise<{ n: number; ms: number }> {
  const start = performance.now();
  const end = start + ms;
  let n = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < end) {
        await fn();
        n++;
      }
    }),
  );
  return { n, ms: performance.now() - start };
}

async function transactions(broker: Broker): Promise<void> {
  broker.upsertTopic('Tx', { queues: 4 });
  const send = (): Promise<unknown> => broker.send('Tx', { body: payload });
  const transaction = async (): Promise<void> => {
    const prepared = await broker.prepare('Tx', 'bench', { body: payload });
    await broker.commit(prepared.transactionId);
  };
  // warm up both paths first (the JIT), then alternate
  await slice(send, 1000);
  await slice(transaction, 1000);
  const plain = { n: 0, ms: 0 };
  const tx = { n: 0, ms: 0 };
  const ratios: number[] = [];
  for (let i = 0; i < TX_SLICES; i++) {
    const p = await slice(send, TX_SLICE_MS);
    const t = await slice(transaction, TX_SLICE_MS);
    plain.n += p.n;
    plain.ms += p.ms;
    tx.n += t.n;
    tx.ms += t.ms;
    ratios.push(t.n / t.ms / (p.n / p.ms));
  }
  ratios.sort((a, b) => a - b);
  const plainRate = (plain.n / plain.ms) * 1000;
  const txRate = (tx.n / tx.ms) * 1000;
  const seconds = (TX_SLICES * TX_SLICE_MS) / 1000;
  report(`baseline: plain sends, 64 in flight, over ${seconds} s (msgs/s)`, fmt(plainRate));
  report(`prepare + commit, 64 in flight, over ${seconds} s (transactions/s)`, fmt(txRate));
  report('  ratio to plain sends (target >= 0.40x)', `${(txRate / plainRate).toFixed(2)}x`);
  report(
    `  ratio of neighbouring slices: median (min-max of ${TX_SLICES})`,
    `${(ratios[ratios.length >> 1] ?? NaN).toFixed(2)}x (${(ratios[0] ?? NaN).toFixed(2)}-${(ratios[ratios.length - 1] ?? NaN).toFixed(2)})`,
  );
}

const broker = await Broker.open({ dataDir: root, transactionCheckIntervalMs: 3_600_000 });
try {
  console.log(`bench/schedule: node ${process.version}, ${os.cpus().length} cpus, ${MSG} B messages`);
  await transactions(broker);
  await lateness(broker);
} finally {
  await broker.close();
  fs.rmSync(root, { recursive: true, force: true });
}
