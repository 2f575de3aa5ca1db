/**
 * Store-and-forward over REST and WebSocket, with a `local-bare` backend whose close() and
 * connect() stand for a broker outage: with the route option on, sends during the outage are
 * accepted into the gateway's log and forwarded in per-queue order when the broker is back
 * (later sends to a queue with messages waiting go behind them); with it off, a send to the
 * broker that is down answers 503 with Retry-After at once. The health check runs only when a
 * test calls it (a long healthIntervalMs), so an outage lasts until the test ends it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BareAdapter } from '../../../adapters/local-bare/bare-adapter.js';
import { MqgateError } from '../../../src/errors.js';
import { until } from '../../helpers/broker.js';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { Json } from '../../helpers/http.js';
import { apiClient } from '../../helpers/http.js';
import { connectWs } from '../../helpers/ws-client.js';

const HEALTH_MS = 60_000;
let gw: TestGateway;
const api = apiClient(() => gw.url);

beforeAll(async () => {
  gw = await startGateway({
    gateway: {
      backends: { bare: { type: 'local-bare' } },
      routes: [
        { topics: 'saf-*', backend: 'bare', storeAndForward: true },
        { topics: 'plain-*', backend: 'bare' },
      ],
      healthIntervalMs: HEALTH_MS,
    },
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  await bare().connect();
  await gw.gateway.backends.checkHealth();
});
afterAll(async () => {
  await gw.stop();
});

function bare(): BareAdapter {
  return gw.gateway.backends.require('bare').adapter as BareAdapter;
}

async function backlog(): Promise<Json> {
  const r = await api.get('/v1/backends');
  return r.json.backends.find((b: Json) => b.name === 'bare');
}

/** Receives and acks until `n` messages came (or 20 s passed); their bodies in arrival order. */
async function consume(group: string, topic: string, n: number): Promise<string[]> {
  const bodies: string[] = [];
  const end = Date.now() + 20_000;
  while (bodies.length < n && Date.now() < end) {
    const r = await api.post(`/v1/groups/${group}/receive`, { topic, maxMessages: 32, waitSeconds: 1 });
    expect(r.status).toBe(200);
    for (const m of r.json.messages) {
      bodies.push(m.body);
      const ack = await api.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: m.receiptHandle });
      expect(ack.status).toBe(200);
    }
  }
  return bodies;
}

/** Per sharding key (the body's part before '-'), the bodies in the order they came. */
function byKey(bodies: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const b of bodies) {
    const k = b.split('-')[0] as string;
    out.set(k, [...(out.get(k) ?? []), b]);
  }
  return out;
}

const KEYS = ['ka', 'kb', 'kc', 'kd', 'ke', 'kf'];

describe('store-and-forward - on', () => {
  it('store-and-forward - sends during an outage answer SEND_OK; after the broker returns each arrives once, in per-key order, behind the backlog', async () => {
    const topic = 'saf-orders';
    expect((await api.put(`/v1/topics/${topic}`, { queues: 4 })).status).toBe(200);
    expect((await api.put('/v1/groups/g-saf', { consumeFrom: 'FIRST' })).status).toBe(200);
    await bare().close(); // until connect(): a health check would connect it again
    const send = (body: string, k: string) =>
      api.post(`/v1/topics/${topic}/messages`, { body, shardingKey: k });

    let first: Json;
    for (let i = 0; i < 4; i++)
      for (const k of KEYS) {
        const r = await send(`${k}-${i}`, k);
        expect(r.status).toBe(200);
        expect(r.json).toMatchObject({ status: 'SEND_OK', topic, queueOffset: -1 });
        first ??= r.json;
      }
    const batch = await api.post(`/v1/topics/${topic}/messages:batch`, {
      messages: KEYS.map((k) => ({ body: `${k}-4`, shardingKey: k })),
    });
    expect(batch.status).toBe(200);
    expect(batch.json.results.every((r: Json) => r.status === 'SEND_OK' && r.queueOffset === -1)).toBe(true);

    const during = await backlog();
    expect(during).toMatchObject({ status: 'down', backlog: { messages: 30, forwarded: 0 } });
    expect(during.backlog.oldestTimestamp).toBeGreaterThan(Date.now() - 60_000);
    // a waiting message is found by its id, on its topic and queue, with no offset yet
    const waiting = await api.get(`/v1/messages/${first.msgId}`);
    expect(waiting.status).toBe(200);
    expect(waiting.json).toMatchObject({ topic, queueId: first.queueId, queueOffset: -1, body: 'ka-0' });
    expect(Object.keys(waiting.json.properties ?? {}).some((p) => p.startsWith('__MQGATE_SAF'))).toBe(false);

    // back: sends right away (before any health check) still go behind the backlog of their queue
    await bare().connect();
    for (const k of KEYS) expect((await send(`${k}-5`, k)).status).toBe(200);
    await gw.gateway.backends.checkHealth();
    for (const k of KEYS) expect((await send(`${k}-6`, k)).status).toBe(200);

    const bodies = await consume('g-saf', topic, KEYS.length * 7);
    expect(bodies).toHaveLength(KEYS.length * 7);
    for (const k of KEYS)
      expect(byKey(bodies).get(k)).toEqual(Array.from({ length: 7 }, (_, i) => `${k}-${i}`));
    // exactly once on the broker too: its queues hold every message once
    const t = await api.get(`/v1/topics/${topic}`);
    expect(t.json.queueOffsets.reduce((n: number, q: Json) => n + q.maxOffset, 0)).toBe(KEYS.length * 7);
    const again = await api.post('/v1/groups/g-saf/receive', { topic, waitSeconds: 0.3 });
    expect(again.json.messages).toEqual([]);

    await until(async () => (await backlog()).backlog.messages === 0);
    const after = await backlog();
    expect(after.status).toBe('up');
    expect(after.backlog.oldestTimestamp).toBeUndefined();
    // the 30 of the outage, and the first sent after it (its queue still held; it woke the
    // forwarder: later ones whose queue was drained by then went straight to the broker)
    expect(after.backlog.forwarded).toBeGreaterThanOrEqual(31);
    expect(after.backlog.forwarded).toBeLessThanOrEqual(KEYS.length * 7);
    const metrics = (await fetch(`${gw.url}/metrics`).then((r) => r.text())).split('\n');
    expect(metrics).toContain('mqgate_backend_backlog_messages{backend="bare"} 0');
    expect(metrics).toContain(`mqgate_backend_forwarded_total{backend="bare"} ${after.backlog.forwarded}`);
    // forwarded and confirmed: found by id from the broker now, with its offset there
    const found = await api.get(`/v1/messages/${first.msgId}`);
    expect(found.json).toMatchObject({ topic, body: 'ka-0' });
    expect(found.json.queueOffset).toBeGreaterThanOrEqual(0);
  });

  it('store-and-forward - a send the broker does not confirm (a retriable error while it is up) goes to the backlog and is forwarded', async () => {
    const topic = 'saf-unconfirmed';
    await api.put(`/v1/topics/${topic}`, { queues: 1 });
    await api.put('/v1/groups/g-unconfirmed', { consumeFrom: 'FIRST' });
    vi.spyOn(bare(), 'send').mockRejectedValueOnce(
      new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', 'no confirm within the timeout'),
    );
    const r = await api.post(`/v1/topics/${topic}/messages`, { body: 'u-0' });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'SEND_OK', queueOffset: -1 });
    const next = await api.post(`/v1/topics/${topic}/messages`, { body: 'u-1' });
    expect(next.status).toBe(200);
    expect(await consume('g-unconfirmed', topic, 2)).toEqual(['u-0', 'u-1']);
    await until(async () => (await backlog()).backlog.messages === 0);
  });

  it('store-and-forward - a message the broker refuses for good is skipped; the rest of the backlog goes on, in order', async () => {
    const topic = 'saf-refused';
    await api.put(`/v1/topics/${topic}`, { queues: 1 });
    await api.put('/v1/groups/g-refused', { consumeFrom: 'FIRST' });
    await bare().close();
    for (let i = 0; i < 5; i++)
      expect((await api.post(`/v1/topics/${topic}/messages`, { body: `r-${i}` })).status).toBe(200);
    const adapter = bare();
    const send = adapter.send.bind(adapter);
    const text = (b: Uint8Array | string): string => (typeof b === 'string' ? b : Buffer.from(b).toString());
    vi.spyOn(adapter, 'send').mockImplementation(async (t, batch) => {
      if (batch.some((m) => text(m.body) === 'r-2'))
        throw new MqgateError('MQ_ERR_BACKEND_REFUSED', 'over the broker limit');
      return send(t, batch);
    });
    await adapter.connect();
    await gw.gateway.backends.checkHealth();
    expect(await consume('g-refused', topic, 4)).toEqual(['r-0', 'r-1', 'r-3', 'r-4']);
    await until(async () => (await backlog()).backlog.messages === 0);
  });
});

describe('store-and-forward - off', () => {
  it('store-and-forward off - a send while the broker is down answers 503 with Retry-After at once (REST, batch, WebSocket)', async () => {
    const topic = 'plain-orders';
    await api.put(`/v1/topics/${topic}`, { queues: 2 });
    await bare().close();
    const ws = await connectWs(gw.url);
    try {
      const started = Date.now();
      const one = await api.post(`/v1/topics/${topic}/messages`, { body: 'x' });
      expect(one.status).toBe(503);
      expect(one.json.error.code).toBe('MQ_ERR_BACKEND_UNAVAILABLE');
      expect(one.json.error.message).toContain('bare');
      expect(one.headers.get('retry-after')).toBe(String(HEALTH_MS / 1000));
      const batch = await api.post(`/v1/topics/${topic}/messages:batch`, { messages: [{ body: 'y' }] });
      expect(batch.status).toBe(503);
      expect(batch.headers.get('retry-after')).toBe(String(HEALTH_MS / 1000));
      const frame = await ws.call({ id: 'p1', op: 'publish', topic, message: { body: 'z' } });
      expect(frame).toMatchObject({
        id: 'p1',
        op: 'error',
        code: 'MQ_ERR_BACKEND_UNAVAILABLE',
        retryAfterMs: HEALTH_MS,
      });
      expect(Date.now() - started).toBeLessThan(2000);
      expect((await backlog()).backlog.messages).toBe(0);
    } finally {
      await ws.close();
    }
    await bare().connect();
    expect((await api.post(`/v1/topics/${topic}/messages`, { body: 'back' })).status).toBe(200);
  });
});
