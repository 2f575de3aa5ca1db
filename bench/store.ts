/**
 * bench/store: the embedded log's write, read, memory and recovery figures for 1 KiB messages,
 * each next to a baseline measured in the same run on the same disk.
 *
 *   npm run bench:store              (about a minute; needs ~2.5 GiB of free disk)
 *   BENCH_MESSAGES=200000 npm run bench:store   (a quicker, smaller run)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MessageStore } from '../src/store/index.js';
import type { MessageInput } from '../src/message/message.js';

const MSG = 1024;
const TOTAL = Number(process.env.BENCH_MESSAGES ?? 1_050_000); // ~1 GiB of records
const SYNC_SECONDS = Number(process.env.BENCH_SYNC_SECONDS ?? 3);
const root = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'mqgate-bench-'));
const payload = Buffer.alloc(MSG, 'x');
const rows: [string, string][] = [];

function report(name: string, value: string): void {
  rows.push([name, value]);
  console.log(`${name.padEnd(58)} ${value}`);
}
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number, secs: number): string => `${(bytes / secs / 1024 / 1024).toFixed(1)} MB/s`;
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

async function asyncAppend(dir: string): Promise<{ rate: number; bytes: number; secs: number }> {
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
  report('RSS after writing all messages (MB)', (process.memoryUsage().rss / 1024 / 1024).toFixed(0));
  await store.close();
  return { rate: TOTAL / secs, bytes, secs };
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

async function main(): Promise<void> {
  console.log(`bench/store: ${fmt(TOTAL)} messages of ${MSG} B, data in ${root}`);
  console.log(`node ${process.version}, ${os.cpus().length} cpus, ${os.cpus()[0]?.model ?? ''}\n`);
  const raw = rawBaseline();
  report('baseline: raw sequential 1 KiB writes, no fsync (writes/s)', fmt(raw.writesPerSec));
  report('baseline: raw sequential 1 KiB writes, no fsync', `${(raw.mbps / 1024 / 1024).toFixed(1)} MB/s`);
  report('baseline: raw 1 KiB write + fsync each (writes/s)', fmt(raw.fsyncWritesPerSec));

  await warmUp();
  // the fsync-bound runs first, on the same quiet disk as the baseline (before 1 GiB of writeback)
  for (const p of [1, 16, 64]) {
    const s = await syncAppend(p);
    report(`SYNC_FLUSH append, ${p} concurrent producers (msgs/s)`, fmt(s.rate));
    report(`  fsyncs per acknowledged message (${p} producers)`, s.fsyncsPerMsg.toFixed(3));
    report(
      `  ratio to one-fsync-per-write baseline (${p} producers)`,
      `${(s.rate / raw.fsyncWritesPerSec).toFixed(1)}x`,
    );
  }

  const dir = path.join(root, 'async');
  const a = await asyncAppend(dir);
  report('ASYNC_FLUSH append, 1 producer batched (msgs/s)', fmt(a.rate));
  report('ASYNC_FLUSH append, 1 producer batched', mb(a.bytes, a.secs));
  report('  ratio to raw unsynced writes', `${(a.rate / raw.writesPerSec).toFixed(2)}x`);

  report('drain backlog, pulls of 32 (msgs/s)', fmt(await drain(dir, 32)));
  report('drain backlog, pulls of 1024 (msgs/s)', fmt(await drain(dir, 1024)));

  const normal = await recovery(dir, false);
  report('restart after clean close (ms)', normal.ms.toFixed(0));
  const full = await recovery(dir, true);
  report(
    `recovery rebuilding ConsumeQueue+index from ${(full.bytes / 1024 ** 3).toFixed(2)} GiB (ms)`,
    full.ms.toFixed(0),
  );
  fs.rmSync(root, { recursive: true, force: true });
  if (process.env.BENCH_JSON !== undefined)
    fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify(rows, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  fs.rmSync(root, { recursive: true, force: true });
  process.exit(1);
});
