import Fastify from 'fastify';
import { Histogram, Registry, register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { installMetrics } from '../../src/api/rest/observe.js';
import { validateConfig } from '../../src/config/load.js';
import type { MetricsSource } from '../../src/observability/metrics.js';
import { FastHistogram, Metrics, OTHER_TOPIC, SEND_BUCKETS } from '../../src/observability/metrics.js';

const source: MetricsSource = {
  consumerLag: (limit = Infinity) =>
    [
      { group: 'g1', topic: 'T', queueId: 0, lag: 5, inflight: 2 },
      { group: 'g1', topic: 'T', queueId: 1, lag: 0, inflight: 1 },
      { group: 'g2', topic: 'U', queueId: 3, lag: 9, inflight: 0 },
    ].slice(0, limit),
  listGroups: () => [{ name: 'g1' }, { name: 'g2' }],
  getGroup: (name) => ({
    config: {} as never,
    consumers: [],
    stats: { delivered: 4, acked: 3, nacked: 1, retried: 1, deadLettered: name === 'g1' ? 1 : 0, dropped: 0 },
    retryMessages: 1,
    dlqMessages: name === 'g1' ? 1 : 0,
  }),
  transactionStats: () => ({ pending: 2, committed: 5, rolledBack: 1, checks: 3, discarded: 0 }),
  scheduleStats: () => ({ levels: [0, 3, 1], timers: 4, delivered: 10 }),
  storeStats: () => ({ writeEnd: 4096, flushedEnd: 2048, minOffset: 0, fsyncs: 7 }),
};

const metricsConfig = (over: Record<string, unknown> = {}) => validateConfig({ metrics: over }).metrics;

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Every metric family the gateway exports (the names dashboards and alerts rely on). */
const NAMES = [
  'mqgate_messages_in_total',
  'mqgate_messages_out_total',
  'mqgate_send_duration_seconds',
  'mqgate_http_requests_total',
  'mqgate_http_request_duration_seconds',
  'mqgate_consumer_lag',
  'mqgate_consumer_inflight',
  'mqgate_group_dlq_messages',
  'mqgate_group_retry_messages',
  'mqgate_group_messages_total',
  'mqgate_transactions_pending',
  'mqgate_transactions_total',
  'mqgate_scheduled_messages',
  'mqgate_scheduled_timers',
  'mqgate_store_written_bytes_total',
  'mqgate_store_fsyncs_total',
  'mqgate_store_min_offset_bytes',
  'mqgate_store_flushed_bytes',
];

describe('Metrics', () => {
  it('exports the documented metric names, on a registry of its own', async () => {
    const m = new Metrics(source, metricsConfig());
    const names = m.registry.getMetricsAsArray().map((x) => x.name);
    for (const n of NAMES) expect(names, n).toContain(n);
    expect(names).toContain('process_cpu_seconds_total');
    expect(globalRegistry.getMetricsAsArray().filter((x) => x.name.startsWith('mqgate_'))).toEqual([]);
    // a second instance in the same process does not clash
    expect(() => new Metrics(source, metricsConfig())).not.toThrow();
  });

  it('reads the broker, the transactions, the scheduler and the store at scrape time', async () => {
    const t = await new Metrics(source, metricsConfig()).text();
    expect(sample(t, 'mqgate_consumer_lag{group="g1",topic="T",queue="0"}')).toBe(5);
    expect(sample(t, 'mqgate_consumer_lag{group="g2",topic="U",queue="3"}')).toBe(9);
    expect(sample(t, 'mqgate_consumer_inflight{group="g1",topic="T"}')).toBe(3);
    expect(sample(t, 'mqgate_group_dlq_messages{group="g1"}')).toBe(1);
    expect(sample(t, 'mqgate_group_retry_messages{group="g2"}')).toBe(1);
    expect(sample(t, 'mqgate_group_messages_total{group="g1",outcome="dead_lettered"}')).toBe(1);
    expect(sample(t, 'mqgate_transactions_pending')).toBe(2);
    expect(sample(t, 'mqgate_transactions_total{outcome="committed"}')).toBe(5);
    expect(sample(t, 'mqgate_scheduled_messages{level="2"}')).toBe(3);
    expect(sample(t, 'mqgate_scheduled_timers')).toBe(4);
    expect(sample(t, 'mqgate_store_written_bytes_total')).toBe(4096);
    expect(sample(t, 'mqgate_store_fsyncs_total')).toBe(7);
    expect(sample(t, 'mqgate_store_flushed_bytes')).toBe(2048);
  });

  it('bounds the lag series and the groups read by maxLagSeries', async () => {
    const t = await new Metrics(source, metricsConfig({ maxLagSeries: 1 })).text();
    expect(t.split('\n').filter((l) => l.startsWith('mqgate_consumer_lag{'))).toHaveLength(1);
    expect(t.split('\n').filter((l) => l.startsWith('mqgate_group_dlq_messages{'))).toHaveLength(1);
    const none = await new Metrics(source, metricsConfig({ maxLagSeries: 0 })).text();
    expect(none).not.toMatch(/^mqgate_consumer_lag\{/m);
  });

  it('survives a source that throws (a gateway closing): the scrape still answers', async () => {
    const failing = Object.fromEntries(
      Object.keys(source).map((k) => [
        k,
        () => {
          throw new Error('closed');
        },
      ]),
    ) as unknown as MetricsSource;
    await expect(new Metrics(failing, metricsConfig()).text()).resolves.toContain('mqgate_consumer_lag');
  });

  it('counts messages per topic, and folds topics beyond maxTopicLabels into _other', async () => {
    const m = new Metrics(source, metricsConfig({ maxTopicLabels: 2 }));
    m.onSend('A', 2);
    m.onSend('B', 1, 0.002);
    m.onSend('C', 5);
    m.onSend('A', 1);
    m.onDeliver('A', 3);
    const t = await m.text();
    expect(sample(t, 'mqgate_messages_in_total{topic="A"}')).toBe(3);
    expect(sample(t, 'mqgate_messages_in_total{topic="B"}')).toBe(1);
    expect(sample(t, `mqgate_messages_in_total{topic="${OTHER_TOPIC}"}`)).toBe(5);
    expect(sample(t, 'mqgate_messages_out_total{topic="A"}')).toBe(3);
    expect(sample(t, 'mqgate_send_duration_seconds_count{api="ws"}')).toBe(1);
  });
});

describe('FastHistogram', () => {
  it('writes the same exposition as a prom-client Histogram fed the same values', async () => {
    const a = new Registry();
    const b = new Registry();
    const cfg = { name: 'h_seconds', help: 'h', labelNames: ['api'] as const, buckets: SEND_BUCKETS };
    const reference = new Histogram({ ...cfg, labelNames: ['api'], registers: [a] });
    const fast = new FastHistogram({ ...cfg, labelNames: ['api'] });
    b.registerMetric(fast);
    const s = fast.series({ api: 'rest' });
    for (const v of [0.00005, 0.0003, 0.0003, 0.004, 0.2, 3, 7]) {
      reference.observe({ api: 'rest' }, v);
      s.observe(v);
    }
    expect(await b.metrics()).toBe(await a.metrics());
  });
});

describe('the HTTP hooks', () => {
  async function app() {
    const m = new Metrics(source, metricsConfig());
    const f = Fastify();
    installMetrics(f, m, true);
    f.post('/v1/topics/:topic/messages', async () => ({ msgId: 'x' }));
    f.post('/v1/topics/:topic/messages::batch', async () => ({ results: [] }));
    f.post('/v1/groups/:group/receive', async () => ({ messages: [{}, {}] }));
    f.get('/v1/topics/:topic/queues/:queueId/messages', async () => ({ messages: [{}] }));
    await f.ready();
    return { f, m };
  }

  it('count sends (batch members too), deliveries of receive and pull, and requests by route', async () => {
    const { f, m } = await app();
    await f.inject({ method: 'POST', url: '/v1/topics/T/messages', payload: { body: 1 } });
    await f.inject({
      method: 'POST',
      url: '/v1/topics/T/messages:batch',
      payload: { messages: [{}, {}, {}] },
    });
    await f.inject({ method: 'POST', url: '/v1/groups/g/receive', payload: { topic: 'T' } });
    await f.inject({ method: 'GET', url: '/v1/topics/U/queues/0/messages?offset=0' });
    const t = await m.text();
    expect(sample(t, 'mqgate_messages_in_total{topic="T"}')).toBe(4);
    expect(sample(t, 'mqgate_send_duration_seconds_count{api="rest"}')).toBe(2);
    expect(sample(t, 'mqgate_messages_out_total{topic="T"}')).toBe(2);
    expect(sample(t, 'mqgate_messages_out_total{topic="U"}')).toBe(1);
    expect(
      sample(t, 'mqgate_http_requests_total{method="POST",route="/v1/groups/:group/receive",status="200"}'),
    ).toBe(1);
    expect(
      sample(t, 'mqgate_http_request_duration_seconds_count{method="GET",route="/metrics",status="200"}'),
    ).toBeUndefined();
    await f.inject({ method: 'GET', url: '/metrics' });
    expect(
      sample(await m.text(), 'mqgate_http_requests_total{method="GET",route="/metrics",status="200"}'),
    ).toBe(1);
    await f.close();
  });
});
