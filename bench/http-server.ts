/**
 * The server side of bench/http and bench/ws, run in its own process so the load generator
 * does not share its event loop: `bare` is a fastify app with one POST route that parses the
 * JSON body and answers 200 (the HTTP baseline), `ws-bare` a plain ws server answering each
 * frame with a result frame (the WebSocket baseline), `mqgate` the gateway (embedded log,
 * ASYNC_FLUSH, metrics on, auth off), `mqgate-rabbitmq` the same gateway with a backend
 * `rabbitmq` on RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672), `mqgate-kafka` with a
 * backend `kafka` on KAFKA_BROKERS (default 127.0.0.1:9092). Prints `READY <url>` and runs until
 * killed.
 *
 * The gateway modes take, from the environment: BENCH_FLUSH (the log's flushDiskType, ASYNC_FLUSH
 * by default), BENCH_DELAY_LEVELS (broker.delayLevels, the config's default table otherwise) and
 * BENCH_DATA_DIR (a data directory of the caller's, kept at the end, so that a gateway killed with
 * SIGKILL can be started again on its log; by default a new one under BENCH_DIR, deleted at the
 * end).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { WebSocketServer } from 'ws';
import { validateConfig } from '../src/config/load.js';
import { startServer } from '../src/cli/serve.js';

const mode = process.argv[2] ?? 'mqgate';

/** The broker backend of a `mqgate-{type}` mode (each with the config's defaults otherwise). */
const BACKENDS: Record<string, Record<string, unknown>> = {
  'mqgate-rabbitmq': {
    rabbitmq: { type: 'rabbitmq', url: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672' },
  },
  'mqgate-kafka': {
    kafka: { type: 'kafka', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',') },
  },
};

if (mode === 'ws-bare') {
  // the WebSocket baseline: parse each frame, answer a result frame with its id
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { id: string };
      ws.send(JSON.stringify({ id: f.id, op: 'result', status: 'SEND_OK' }));
    });
  });
  await new Promise((r) => wss.once('listening', r));
  const a = wss.address();
  console.log(`READY http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`);
} else if (mode === 'bare') {
  const app = Fastify({ logger: false });
  app.post('/bare', async () => ({}));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const a = app.server.address();
  console.log(`READY http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`);
} else {
  const kept = process.env.BENCH_DATA_DIR;
  const dataDir =
    kept ?? fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'mqgate-bench-http-'));
  const delayLevels = process.env.BENCH_DELAY_LEVELS;
  const config = validateConfig({
    server: { host: '127.0.0.1', port: 0 },
    store: { dataDir, flushDiskType: process.env.BENCH_FLUSH ?? 'ASYNC_FLUSH' },
    ...(delayLevels === undefined ? {} : { broker: { delayLevels } }),
    log: { level: 'warn', pretty: false },
    ...(BACKENDS[mode] === undefined ? {} : { gateway: { backends: BACKENDS[mode] } }),
  });
  const running = await startServer(config);
  console.log(`READY ${running.url}`);
  const stop = (): void => {
    void running.stop().finally(() => {
      if (kept === undefined) fs.rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
