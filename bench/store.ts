/**
 * bench/store: the embedded log's write, read, memory and recovery figures for 1 KiB messages,
 * each next to a baseline measured in the same run on the same disk.
 *
 *   npm run bench:store              (three rounds, about three minutes; ~2.5 GiB of free disk)
 *   BENCH_ROUNDS=1 BENCH_MESSAGES=200000 npm run bench:store   (a quick, small run)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MessageStore } from '../src/store/index.js';
import type { MessageInput } from '../src/message/message.js';

const MSG = 1024;
const TOTAL = Number(process.env.BENCH_MESSAGES ?? 1_050_000); // ~1 GiB of records
const SYNC_SECONDS = Number(process.env.BENCH_SYNC_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const root = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'mqgate-bench-'));
const payload = Buffer.alloc(MSG, 'x');
const rows: [string, string][] = [];

function report(name: string, value: string): void {
  rows.push([name, value]);
  console.log(`${name.padEnd(62)} ${value}`);
}
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

function message(i: number, queues: number): MessageInput {
  return { topic: 'BenchTopic', queueId: i % queues, body: payload, tag: 'TagA', keys: [`k${i}`] };
}

/** Baseline: plain sequential fs writes of the same bytes, with and without an fsync per write. */
function rawBaseline(): { writesPerSec: number; fsyncWritesPerSec: number; mbps: number } {
  const file = path.join(root, 'raw');
  const fd = fs.openSync(file, 'w');
  const n = 200_000;
  let t = performance.now();
  for (let i = 0; i < n; i++) fs.writeSync(fd, payload, 0, MSG, i * MSG);
  fs.fdatasyncSync(fd);
  const writeSecs = (performance.now() - t) / 1000;
  let count = 0;
  t = performance.now();
  const until = t + SYNC_SECONDS * 1000;
  while (performance.now() < until) {
    fs.writeSync(fd, payload, 0, MSG, (n + count) * MSG);
    fs.fdatasyncSync(fd);
    count++;
  }
  const fsyncSecs = (performance.now() - t) / 1000;
  fs.closeSync(fd);
  fs.rmSync(file);
  return { writesPerSec: n / writeSecs, fsyncWritesPerSec: count / fsyncSecs, mbps: (n * MSG) / writeSecs };
}

async function asyncAppend(
  dir: string,
): Promise<{ rate: number; bytes: number; secs: number; rssMB: number }> {
  const store = await MessageStore.open({ dataDir: dir, flushDiskType: 'ASYNC_FLUSH' });
  const batch = 256;
  const window = 16;
  let sent = 0;
  const t = performance.now();
  const producer = async (): Promise<void> => {
    while (sent < TOTAL) {
      const msgs: MessageInput[] = [];
      for (let i = 0; i < batch && sent < TOTAL; i++) msgs.push(message(sent++, 4));
      const res = await store.putMessages(msgs);
      if (res.some((r) => r.status !== 'PUT_OK')) throw new Error('append failed');
    }
  };
  await Promise.all(Array.from({ length: window }, producer));
  const secs = (performance.now() - t) / 1000;
  const bytes = store.stats().writeEnd;
  gc();
  const rssMB = process.memoryUsage().rss / 1024 / 1024;
  await store.close();
  return { rate: TOTAL / secs, bytes, secs, rssMB };
}

async function syncAppend(producers: number): Promise<{ rate: number; fsyncsPerMsg: number }> {
  const dir = path.join(root, `sync-${producers}`);
  const store = await MessageStore.open({
    dataDir: dir,
    flushDiskType: 'SYNC_FLUSH',
    segmentSize: 256 << 20,
  });
  const f0 = store.stats().fsyncs;
  let count = 0;
  const until = performance.now() + SYNC_SECONDS * 1000;
  const t = performance.now();
  const producer = async (p: number): Promise<void> => {
    while (performance.now() < until) {
      const r = await store.putMessage(message(count, 4 + (p % 4)));
      if (r.status !== 'PUT_OK') throw new Error(`append: ${r.status}`);
      count++;
    }
  };
  await Promise.all(Array.from({ length: producers }, (_, p) => producer(p)));
  const secs = (performance.now() - t) / 1000;
  const fsyncs = store.stats().fsyncs - f0;
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { rate: count / secs, fsyncsPerMsg: fsyncs / count };
}

/** A consumer draining the topic: one puller per queue, as a push consumer keeps one pull per queue. */
async function drain(dir: string, maxMessages: number): Promise<number> {
  const store = await MessageStore.open({ dataDir: dir });
  let n = 0;
  const t = performance.now();
  await Promise.all(
    [0, 1, 2, 3].map(async (q) => {
      let offset = 0;
      for (;;) {
        const r = await store.getMessages('BenchTopic', q, offset, maxMessages);
        if (r.status !== 'FOUND') break;
        n += r.messages.length;
        offset = r.nextBeginOffset;
      }
    }),
  );
  const secs = (performance.now() - t) / 1000;
  await store.close();
  if (n !== TOTAL) throw new Error(`drained ${n} of ${TOTAL}`);
  return n / secs;
}

async function recovery(dir: string, full: boolean): Promise<{ ms: number; records: number; bytes: number }> {
  if (full) {
    fs.rmSync(path.join(dir, 'consumequeue'), { recursive: true, force: true });
    fs.rmSync(path.join(dir, 'index'), { recursive: true, force: true });
    fs.rmSync(path.join(dir, 'checkpoint'), { force: true });
  }
  const t = performance.now();
  const store = await MessageStore.open({ dataDir: dir });
  const ms = performance.now() - t;
  const r = store.recovery;
  await store.close();
  return { ms, records: r.records, bytes: r.scannedBytes };
}

/** Lets the JIT compile the append and read paths before anything is measured. */
async function warmUp(): Promise<void> {
  const dir = path.join(root, 'warm-up');
  const store = await MessageStore.open({ dataDir: dir, segmentSize: 64 << 20 });
  for (let i = 0; i < 50; i++)
    await store.putMessages(Array.from({ length: 256 }, (_, j) => message(i * 256 + j, 4)));
  for (let i = 0; i < 200; i++) await store.putMessage(message(i, 4));
  for (let q = 0; q < 4; q++) {
    for (let offset = 0; offset < store.maxOffset('BenchTopic', q);) {
      offset = (await store.getMessages('BenchTopic', q, offset, 32)).nextBeginOffset;
    }
  }
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

interface Figures {
  rawWrites: number;
  rawMBps: number;
  rawFsyncWrites: number;
  sync: { producers: number; rate: number; fsyncsPerMsg: number }[];
  asyncRate: number;
  asyncMBps: number;
  rssMB: number;
  drain32: number;
  drain1024: number;
  restartMs: number;
  recoveryMs: number;
  recoveryGiB: number;
}

/** One round of every measurement, on fresh stores. */
async function measure(): Promise<Figures> {
  const raw = rawBaseline();
  await warmUp();
  // the fsync-bound runs first, on the same quiet disk as the baseline (before 1 GiB of writeback)
  const sync = [];
  for (const producers of [1, 16, 64]) sync.push({ producers, ...(await syncAppend(producers)) });
  const dir = path.join(root, 'async');
  const a = await asyncAppend(dir);
  const drain32 = await drain(dir, 32);
  const drain1024 = await drain(dir, 1024);
  const normal = await recovery(dir, false);
  const full = await recovery(dir, true);
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    rawWrites: raw.writesPerSec,
    rawMBps: raw.mbps / 1024 / 1024,
    rawFsyncWrites: raw.fsyncWritesPerSec,
    sync,
    asyncRate: a.rate,
    asyncMBps: a.bytes / a.secs / 1024 / 1024,
    rssMB: a.rssMB,
    drain32,
    drain1024,
    restartMs: normal.ms,
    recoveryMs: full.ms,
    recoveryGiB: full.bytes / 1024 ** 3,
  };
}

/**
 * Runs BENCH_ROUNDS rounds (default 3) and reports, for every figure, each round and the best
 * one (highest rate, lowest time): on a shared machine noise only ever slows a run down, and
 * baselines get the same treatment, so the ratios compare like with like.
 */
async function main(): Promise<void> {
  console.log(`bench/store: ${fmt(TOTAL)} messages of ${MSG} B, data in ${root}`);
  console.log(`node ${process.version}, ${os.cpus().length} cpus, ${os.cpus()[0]?.model ?? ''}`);
  const rounds: Figures[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    rounds.push(await measure());
    console.log(`round ${i + 1} of ${ROUNDS} done`);
  }
  console.log(`\n${'figure'.padEnd(62)} ${'best'.padStart(10)}   rounds`);
  const hi = (f: (r: Figures) => number): number => Math.max(...rounds.map(f));
  const lo = (f: (r: Figures) => number): number => Math.min(...rounds.map(f));
  const line = (
    name: string,
    f: (r: Figures) => number,
    best: number,
    show: (n: number) => string = fmt,
  ): void => report(name, `${show(best).padStart(10)}   ${rounds.map((r) => show(f(r))).join(' / ')}`);
  const fix = (d: number) => (n: number) => n.toFixed(d);
  line(
    'baseline: raw sequential 1 KiB writes, no fsync (writes/s)',
    (r) => r.rawWrites,
    hi((r) => r.rawWrites),
  );
  line(
    'baseline: raw sequential 1 KiB writes, no fsync (MB/s)',
    (r) => r.rawMBps,
    hi((r) => r.rawMBps),
    fix(1),
  );
  const rawFsync = hi((r) => r.rawFsyncWrites);
  line('baseline: raw 1 KiB write + fsync each (writes/s)', (r) => r.rawFsyncWrites, rawFsync);
  for (const [i, { producers }] of (rounds[0] as Figures).sync.entries()) {
    const rate = (r: Figures): number => (r.sync[i] as Figures['sync'][number]).rate;
    const best = hi(rate);
    line(`SYNC_FLUSH append, ${producers} concurrent producers (msgs/s)`, rate, best);
    const per = (r: Figures): number => (r.sync[i] as Figures['sync'][number]).fsyncsPerMsg;
    line(`  fsyncs per acknowledged message (${producers} producers)`, per, lo(per), fix(3));
    report(
      `  ratio to one-fsync-per-write baseline (${producers} producers)`,
      `${(best / rawFsync).toFixed(1)}x`.padStart(10),
    );
  }
  const asyncBest = hi((r) => r.asyncRate);
  line('ASYNC_FLUSH append, 1 producer batched (msgs/s)', (r) => r.asyncRate, asyncBest);
  line(
    'ASYNC_FLUSH append, 1 producer batched (MB/s)',
    (r) => r.asyncMBps,
    hi((r) => r.asyncMBps),
    fix(1),
  );
  report(
    '  ratio to raw unsynced writes',
    `${(asyncBest / hi((r) => r.rawWrites)).toFixed(2)}x`.padStart(10),
  );
  line(
    'RSS after writing all messages (MB)',
    (r) => r.rssMB,
    lo((r) => r.rssMB),
  );
  line(
    'drain backlog, pulls of 32 (msgs/s)',
    (r) => r.drain32,
    hi((r) => r.drain32),
  );
  line(
    'drain backlog, pulls of 1024 (msgs/s)',
    (r) => r.drain1024,
    hi((r) => r.drain1024),
  );
  line(
    'restart after clean close (ms)',
    (r) => r.restartMs,
    lo((r) => r.restartMs),
  );
  line(
    `recovery rebuilding ConsumeQueue+index from ${(rounds[0] as Figures).recoveryGiB.toFixed(2)} GiB (ms)`,
    (r) => r.recoveryMs,
    lo((r) => r.recoveryMs),
  );
  fs.rmSync(root, { recursive: true, force: true });
  if (process.env.BENCH_JSON !== undefined)
    fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify({ rows, rounds }, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  fs.rmSync(root, { recursive: true, force: true });
  process.exit(1);
});
