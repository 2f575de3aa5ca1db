/**
 * bench/http: REST publish of 1 KiB messages to the embedded log (ASYNC_FLUSH), in msgs/s and
 * p99 latency, next to a bare fastify route (POST, JSON body parsed, 200) measured in the same
 * run with the same load: autocannon, keep-alive, BENCH_CONNECTIONS connections (64), each
 * server in its own process.
 *
 *   npm run bench:http                 (about 30 s)
 *   BENCH_SECONDS=5 npm run bench:http
 */
import autocannon from 'autocannon';
import { startBenchServer } from './bench-server.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
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

const bare = await startBenchServer('bare');
const base = await load(`${bare.url}/bare`, 'bare');
await bare.stop();
const gw = await startBenchServer('mqgate');
const pub = await load(`${gw.url}/v1/topics/bench/messages`, 'publish');
await gw.stop();

console.log(`bench/http: 1 KiB JSON bodies, ${CONNECTIONS} keep-alive connections, ${SECONDS} s each`);
report(
  'bare fastify POST route (baseline)',
  `${fmt(base.rps)} req/s, p50 ${base.p50} ms, p99 ${base.p99} ms`,
);
report(
  'REST publish, embedded log ASYNC_FLUSH',
  `${fmt(pub.rps)} msgs/s, p50 ${pub.p50} ms, p99 ${pub.p99} ms`,
);
report('ratio publish / bare (target >= 0.60)', (pub.rps / base.rps).toFixed(2));
if (base.bad + pub.bad > 0) {
  console.log(`non-2xx or errors: bare ${base.bad}, publish ${pub.bad}`);
  process.exitCode = 1;
}
