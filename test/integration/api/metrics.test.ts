import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw.stop();
});

async function scrape(): Promise<string> {
  const res = await fetch(`${gw.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return res.text();
}

/** The value of one sample (`name{labels}` exactly as written), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const send = (topic: string, body: unknown) =>
  fetch(`${gw.url}/v1/topics/${topic}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('GET /metrics', () => {
  it('counts REST sends per topic, their latency and the requests by route and status', async () => {
    for (let i = 0; i < 3; i++) expect((await send('Orders', { body: i })).status).toBe(200);
    expect((await send('Orders', { body: 'x', colour: 'red' })).status).toBe(400);
    const t = await scrape();
    expect(sample(t, 'mqgate_messages_in_total{topic="Orders"}')).toBe(3);
    expect(sample(t, 'mqgate_send_duration_seconds_count{api="rest"}')).toBe(3);
    expect(sample(t, 'mqgate_send_duration_seconds_bucket{le="5",api="rest"}')).toBe(3);
    expect(
      sample(t, 'mqgate_http_requests_total{method="POST",route="/v1/topics/:topic/messages",status="200"}'),
    ).toBe(3);
    expect(
      sample(t, 'mqgate_http_requests_total{method="POST",route="/v1/topics/:topic/messages",status="400"}'),
    ).toBe(1);
    expect(t).toContain(
      'mqgate_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/topics/:topic/messages",status="200"} 3',
    );
  });

  it('reads consumer lag, in-flight messages, group and DLQ sizes at scrape time', async () => {
    await gw.gateway.upsertTopic('Lagging', { queues: 1 });
    // a new group starts at the queue's end: join before the messages arrive
    expect(await gw.gateway.receive('billing', { topic: 'Lagging' })).toHaveLength(0);
    for (let i = 0; i < 5; i++) await gw.gateway.send('Lagging', { body: `m${i}` });
    const got = await gw.gateway.receive('billing', { topic: 'Lagging', maxMessages: 2 });
    expect(got).toHaveLength(2);
    gw.gateway.ack('billing', 'Lagging', got[0]?.receiptHandle ?? '');
    const t = await scrape();
    expect(sample(t, 'mqgate_consumer_lag{group="billing",topic="Lagging",queue="0"}')).toBe(4);
    expect(sample(t, 'mqgate_consumer_inflight{group="billing",topic="Lagging"}')).toBe(1);
    expect(sample(t, 'mqgate_group_dlq_messages{group="billing"}')).toBe(0);
    expect(sample(t, 'mqgate_group_messages_total{group="billing",outcome="delivered"}')).toBe(2);
    expect(sample(t, 'mqgate_group_messages_total{group="billing",outcome="acked"}')).toBe(1);
  });

  it('reports pending transactions, timers, scheduled messages per level and the store', async () => {
    await gw.gateway.prepare('Orders', 'tx-producers', { body: 'half' });
    await gw.gateway.send('Orders', { body: 'later', deliverAt: Date.now() + 3_600_000 });
    const t = await scrape();
    expect(sample(t, 'mqgate_transactions_pending')).toBe(1);
    expect(sample(t, 'mqgate_scheduled_timers')).toBe(1);
    expect(sample(t, 'mqgate_scheduled_messages{level="1"}')).toBeGreaterThanOrEqual(0);
    expect(sample(t, 'mqgate_store_written_bytes_total')).toBeGreaterThan(0);
    expect(sample(t, 'mqgate_store_min_offset_bytes')).toBe(0);
    expect(sample(t, 'mqgate_store_fsyncs_total')).toBeGreaterThanOrEqual(0);
    expect(t).toContain('process_cpu_seconds_total');
    expect(t).toContain('nodejs_eventloop_lag_seconds');
  });

  it('honours a plain x-request-id and replaces one that is too long', async () => {
    const ok = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': 'trace-42.a:b' } });
    expect(ok.headers.get('x-request-id')).toBe('trace-42.a:b');
    const long = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': 'x'.repeat(200) } });
    expect(long.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const odd = await fetch(`${gw.url}/healthz`, { headers: { 'x-request-id': 'a b<script>' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('metrics.enabled: false', () => {
  it('serves no /metrics', async () => {
    const off = await startGateway({ metrics: { enabled: false } });
    try {
      expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});
