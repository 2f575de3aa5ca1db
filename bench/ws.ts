/**
 * bench/ws: WebSocket publish of 1 KiB messages to the embedded log (ASYNC_FLUSH) with
 * pipelining, next to a plain ws server answering each frame (the baseline) with the same
 * load: one message a frame, and publishBatch frames of BENCH_BATCH (32) messages. On a small
 * machine the frames per second a ws server can take cap the first (the plain server is that
 * cap); the second is how a producer reaches 100k msgs/s, as RocketMQ's batch send; then publish -> push latency at a fixed rate (BENCH_RATE, 5k msgs/s): a publisher and
 * a subscriber socket, p50/p99/max after a first second that is not measured.
 *
 *   npm run bench:ws                    (about 40 s)
 *   BENCH_SECONDS=5 BENCH_RATE=5000 npm run bench:ws
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { startBenchServer } from './bench-server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 512);
const RATE = Number(process.env.BENCH_RATE ?? 5000);
const BATCH = Number(process.env.BENCH_BATCH ?? 32);
const RATE_SECONDS = Number(process.env.BENCH_RATE_SECONDS ?? 5);
const payload = 'x'.repeat(1024);
const RESULT = '"op":"result"';
const report = (name: string, value: string): void => console.log(`${name.padEnd(52)} ${value}`);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * Sends on `ws` with the frames of one tick corked into one write: a load generator that makes
 * a system call per frame measures itself, not the server.
 */
function corkedSender(ws: WebSocket): (text: string) => void {
  const socket = (ws as unknown as { _socket: Socket })._socket;
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  return (text) => {
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    ws.send(text);
  };
}

function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function measured(url: string, batch = 1): Promise<{ rate: number; errors: number }> {
  // warm-up, then the measured run; each run stops itself after its time
  await timed(url, 2, batch);
  return timed(url, SECONDS, batch);
}

/** Keeps WINDOW publishes in flight on each of CONNECTIONS sockets for `seconds`; answers results/s. */
async function timed(url: string, seconds: number, batch: number): Promise<{ rate: number; errors: number }> {
  const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => open(url)));
  let done = 0;
  let errors = 0;
  let running = true;
  const one = `{"body":"${payload}","tag":"TagA"}`;
  const frameHead =
    batch === 1
      ? `{"op":"publish","topic":"bench","message":${one},"id":"`
      : `{"op":"publishBatch","topic":"bench","messages":[${Array.from({ length: batch }, () => one).join(',')}],"id":"`;
  const window = batch === 1 ? WINDOW : Math.max(4, Math.ceil(WINDOW / batch));
  const finished = sockets.map(
    (ws, c) =>
      new Promise<void>((resolve) => {
        let seq = 0;
        let inFlight = 0;
        const send = corkedSender(ws);
        const sendOne = (): void => {
          inFlight++;
          send(`${frameHead}${c}-${seq++}"}`);
        };
        ws.on('message', (data: Buffer) => {
          // counted without parsing: the load generator's own cost is kept small
          if (data.indexOf(RESULT) >= 0) done += batch;
          else errors++;
          inFlight--;
          if (running) sendOne();
          else if (inFlight === 0) resolve();
        });
        for (let i = 0; i < window; i++) sendOne();
      }),
  );
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const counted = done;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(finished);
  for (const ws of sockets) ws.close();
  return { rate: counted / elapsed, errors };
}

/** publish -> push latency at RATE msgs/s: answers p50/p99/max in ms of the measured part. */
async function latency(url: string): Promise<{ p50: number; p99: number; max: number; count: number }> {
  const sub = await open(url);
  const pub = await open(url);
  const samples: number[] = [];
  let measuring = false;
  sub.on('message', (data) => {
    const f = JSON.parse(data.toString()) as {
      op: string;
      message?: { body: string; receiptHandle: string };
    };
    if (f.op !== 'message' || f.message === undefined) return;
    const sent = Number(f.message.body);
    if (measuring && sent > 0) samples.push(performance.now() - sent);
    sub.send(`{"op":"ack","receiptHandle":"${f.message.receiptHandle}"}`);
  });
  // the topic exists once something is published to it; then subscribe
  pub.send('{"id":"first","op":"publish","topic":"latency","message":{"body":"0"}}');
  await new Promise((r) => setTimeout(r, 200));
  sub.send(
    JSON.stringify({ id: 's', op: 'subscribe', group: 'bench-latency', topic: 'latency', credit: 1000 }),
  );
  await new Promise((r) => setTimeout(r, 300));
  const total = RATE * (RATE_SECONDS + 1);
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    if (i === RATE) measuring = true;
    pub.send(`{"id":"p${i}","op":"publish","topic":"latency","message":{"body":"${performance.now()}"}}`);
  }
  await new Promise((r) => setTimeout(r, 1000));
  sub.close();
  pub.close();
  samples.sort((a, b) => a - b);
  const q = (p: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), max: samples[samples.length - 1] ?? NaN, count: samples.length };
}

const bare = await startBenchServer('ws-bare');
const base = await measured(bare.url.replace(/\/v1\/ws$/, ''));
await bare.stop();
const gw = await startBenchServer('mqgate');
const pub = await measured(gw.url);
const batched = await measured(gw.url, BATCH);
const lat = await latency(gw.url);
await gw.stop();

console.log(
  `bench/ws: 1 KiB messages, ${CONNECTIONS} sockets x ${WINDOW} publishes in flight, ${SECONDS} s each`,
);
report('plain ws server answering each frame (baseline)', `${fmt(base.rate)} frames/s`);
report('WS publish, one message a frame, embedded log', `${fmt(pub.rate)} msgs/s`);
report('  ratio to the plain ws server (frames)', (pub.rate / base.rate).toFixed(2));
report(`WS publishBatch, ${BATCH} a frame (target >= 100k)`, `${fmt(batched.rate)} msgs/s`);
report(
  `publish -> push at ${fmt(RATE)} msgs/s (${fmt(lat.count)} measured)`,
  `p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms (target < 10), max ${lat.max.toFixed(1)} ms`,
);
if (base.errors + pub.errors + batched.errors > 0) {
  console.log(`error frames: baseline ${base.errors}, publish ${pub.errors}, batch ${batched.errors}`);
  process.exitCode = 1;
}
