/**
 * bench/kafka-delays' gateway side, for both ways: the gateway in its own process (bench-server.ts,
 * mode `mqgate-kafka`, the run's delay levels), a topic of the run on its kafka backend with a
 * kafkajs reader of it, delayed or plain publishes over WebSocket, and a push subscriber
 * (WebSocket, CREDIT, an ack each) that tallies what it gets.
 */
import { WebSocket } from 'ws';
import type { BenchServer } from './bench-server.js';
import { startBenchServer } from './bench-server.js';
import { runId, sleep, until } from './backends-common.js';
import { ackDelivery, corked } from './backends-gateway.js';
import { Arrivals, delayedBody, dueOf, levelOf, parseBody, settings } from './kafka-delays-common.js';
import type { KafkaBench } from './kafka-delays-kafka.js';
import { readTopic } from './kafka-delays-kafka.js';

const BODY_AT = '"body":"';

/** The gateway with the run's delay levels, once its kafka backend is up. */
export async function gateway(env: Record<string, string> = {}): Promise<BenchServer> {
  const server = await startBenchServer('mqgate-kafka', { BENCH_DELAY_LEVELS: settings.levelsText, ...env });
  for (let tries = 0; tries < 100; tries++) {
    const res = await fetch(`${server.url}/v1/backends`);
    const { backends } = (await res.json()) as { backends: { name: string; status: string }[] };
    if (backends.some((b) => b.name === 'kafka' && b.status === 'up')) return server;
    await sleep(100);
  }
  await server.stop();
  throw new Error("the gateway's kafka backend is not up after 10 s");
}

export async function rest(server: BenchServer, method: string, url: string, body: unknown): Promise<void> {
  const res = await fetch(`${server.url}${url}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
}

export function socket(server: BenchServer): Promise<WebSocket> {
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** Publishes on one socket (delayed by default): send(i) resolves once the gateway acknowledged message i. */
export function publisher(ws: WebSocket, topic: string, delayed = true): (i: number) => Promise<void> {
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  ws.on('message', (data: Buffer) => {
    const m = /^\{"id":(\d+),"op":"(\w+)"/.exec(data.toString('latin1', 0, 40));
    const w = m === null ? undefined : waiting.get(Number(m[1]));
    if (m === null || w === undefined) return void console.error(`mqgate: ${data.toString()}`);
    waiting.delete(Number(m[1]));
    if (m[2] === 'result') w.resolve();
    else w.reject(new Error(data.toString()));
  });
  const send = corked(ws);
  const head = `{"op":"publish","topic":"${topic}","message":{"body":"`;
  return (i) =>
    new Promise((resolve, reject) => {
      waiting.set(i, { resolve, reject });
      const delay = delayed ? `,"delayLevel":${levelOf(i)}` : '';
      send(`${head}${delayedBody(i, dueOf(i))}"${delay}},"id":${i}}`);
    });
}

/** A push subscriber of `group`, each delivery acked and tallied; resolves once subscribed. */
export async function subscriber(server: BenchServer, group: string, topic: string, arrivals: Arrivals) {
  const ws = await socket(server);
  const ack = corked(ws);
  let subscribed = false;
  ws.on('message', (data: Buffer) => {
    if (ackDelivery(data, ack)) {
      const text = data.toString('latin1');
      const { index, due } = parseBody(text, text.indexOf(BODY_AT) + BODY_AT.length);
      arrivals.record(index, due);
    } else if (data.indexOf('"op":"ok"') >= 0) subscribed = true;
  });
  ws.send(JSON.stringify({ id: 's', op: 'subscribe', group, topic, credit: settings.credit }));
  await until('the subscription', () => subscribed);
  return ws;
}

/** A topic of the run on the gateway's kafka backend, and a reader of it. */
export async function topicOn(server: BenchServer, bench: KafkaBench, name: string, count: number) {
  const topic = `bench-${runId}-${name}`;
  await rest(server, 'PUT', `/v1/topics/${topic}`, { backend: 'kafka', queues: settings.partitions });
  const arrivals = new Arrivals(count);
  const reader = await readTopic(bench, topic, arrivals);
  return { topic, arrivals, reader };
}
