/**
 * bench/http: REST publish of 1 KiB messages to the embedded log (ASYNC_FLUSH), in msgs/s and
 * p99 latency, next to a bare fastify route (POST, JSON body parsed, 200) measured in the same
 * run with the same load: autocannon, keep-alive, BENCH_CONNECTIONS connections (64), each
 * server in its own process.
 *
 *   npm run bench:http                 (about 75 s: 5 alternating rounds)
 *   BENCH_SECONDS=3 BENCH_ROUNDS=2 npm run bench:http
 */
import autocannon from 'autocannon';
import { startBenchServer } from './bench-server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const body = JSON.stringify({ body: 'x'.repeat(1024), tag: 'TagA', keys: ['k'] });
const report = (name: string, value: string): void => console.log(`${name.padEnd(48)} ${value}`);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function load(
  url: string,
  title: string,
): Promise<{ rps: number; p99: number; p50: number; bad: number }> {
  // a short warm-up (JIT, connection setup), then the measured run
  await autocannon({
    url,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    connections: CONNECTIONS,
    duration: 2,
  });
  const r = await autocannon({
    url,
    title,
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json' },
    connections: CONNECTIONS,
    duration: SECONDS,
  });
  return {
    rps: r.requests.average,
    p99: r.latency.p99,
    p50: r.latency.p50,
    bad: r.non2xx + r.errors + r.timeouts,
  };
}

// both servers up; the runs alternate (bare, publish, bare, publish, ...) so that a change in
// the machine's speed during the run touches both sides alike; the best round of each counts
const bare = await startBenchServer('bare');
const gw = await startBenchServer('mqgate');
const bases: Awaited<ReturnType<typeof load>>[] = [];
const pubs: Awaited<ReturnType<typeof load>>[] = [];
for (let i = 0; i < ROUNDS; i++) {
  bases.push(await load(`${bare.url}/bare`, 'bare'));
  pubs.push(await load(`${gw.url}/v1/topics/bench/messages`, 'publish'));
}
await bare.stop();
await gw.stop();
const best = (xs: typeof bases) => xs.reduce((a, b) => (b.rps > a.rps ? b : a));
const base = best(bases);
const pub = best(pubs);

console.log(
  `bench/http: 1 KiB JSON bodies, ${CONNECTIONS} keep-alive connections, ${ROUNDS} alternating rounds of ${SECONDS} s, best of each`,
);
report(
  'bare fastify POST route (baseline)',
  `${fmt(base.rps)} req/s, p50 ${base.p50} ms, p99 ${base.p99} ms`,
);
report(
  'REST publish, embedded log ASYNC_FLUSH',
  `${fmt(pub.rps)} msgs/s, p50 ${pub.p50} ms, p99 ${pub.p99} ms`,
);
report('ratio publish / bare (target >= 0.60)', (pub.rps / base.rps).toFixed(2));
report('  per round', bases.map((b, i) => ((pubs[i]?.rps ?? 0) / b.rps).toFixed(2)).join(' '));
const bad = [...bases, ...pubs].reduce((n, r) => n + r.bad, 0);
if (bad > 0) {
  console.log(`non-2xx or errors: ${bad}`);
  process.exitCode = 1;
}
