/**
 * Backends and routes as users see them: two backends with different matrices, topics put on
 * one by a route pattern or by `backend`, the backend fixed once a topic has messages, a bad
 * backend named in the error, /readyz, the metrics and `mqgate backends`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { Json } from '../../helpers/http.js';
import { apiClient } from '../../helpers/http.js';
import { runCli } from '../../helpers/serve-process.js';

let gw: TestGateway;
const api = apiClient(() => gw.url);

beforeAll(async () => {
  gw = await startGateway({
    gateway: {
      backends: { bare: { type: 'local-bare' } },
      routes: [{ topics: 'bare-*', backend: 'bare' }],
    },
  });
});
afterAll(async () => {
  await gw.stop();
});

describe('backends - matrix and routes', () => {
  it('GET /v1/backends shows local and a local-bare backend with different matrices and how', async () => {
    const r = await api.get('/v1/backends');
    expect(r.status).toBe(200);
    const [local, bare] = ['local', 'bare'].map((n) => r.json.backends.find((b: Json) => b.name === n));
    expect(local).toMatchObject({ type: 'local', status: 'up', default: true });
    expect(bare).toMatchObject({ type: 'local-bare', status: 'up', default: false });
    expect(Object.values(local.features).every((s) => s === 'native')).toBe(true);
    expect(bare.features).toMatchObject({
      delayLevels: 'emulated',
      pop: 'emulated',
      seek: 'native',
      keyQuery: 'emulated',
    });
    expect(bare.how.delayLevels).toContain('core scheduler');
    expect(bare.how.sqlFilter).toContain('still transferred');
  });

  it('a route pattern puts a new topic on its backend; GET /v1/topics/{t} shows it and its capabilities', async () => {
    const sent = await api.post('/v1/topics/bare-orders/messages', { body: 'routed' });
    expect(sent.status).toBe(200);
    const t = await api.get('/v1/topics/bare-orders');
    expect(t.json).toMatchObject({
      backend: 'bare',
      capabilities: { transactions: 'emulated', seek: 'native' },
    });
    expect(t.json.queueOffsets.reduce((n: number, q: Json) => n + q.maxOffset, 0)).toBe(1);
    expect(
      (await api.get('/v1/topics')).json.topics.find((x: Json) => x.name === 'bare-orders').backend,
    ).toBe('bare');
  });

  it('backend on PUT /v1/topics: unknown is a 400 naming it, a change is refused once there are messages', async () => {
    const bad = await api.put('/v1/topics/Elsewhere', { backend: 'nope' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('MQ_ERR_BACKEND_UNKNOWN');
    expect(bad.json.error.message).toContain('"nope"');
    expect(bad.json.error.message).toContain('bare');
    expect((await api.put('/v1/topics/Movable', { backend: 'bare' })).json.backend).toBe('bare');
    expect((await api.put('/v1/topics/Movable', { backend: 'local' })).json.backend).toBe('local');
    await api.post('/v1/topics/Movable/messages', { body: 'now it has one' });
    const fixed = await api.put('/v1/topics/Movable', { backend: 'bare' });
    expect(fixed.status).toBe(409);
    expect(fixed.json.error.code).toBe('MQ_ERR_BACKEND_FIXED');
  });

  it('/readyz lists every backend; the metrics count sends per backend and say which are up', async () => {
    const ready = await api.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.json.backends).toEqual(
      expect.arrayContaining([
        { name: 'local', status: 'up' },
        { name: 'bare', status: 'up' },
      ]),
    );
    await api.post('/v1/topics/bare-metrics/messages', { body: 'counted' });
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/mqgate_backend_up\{backend="bare",type="local-bare"\} 1/);
    expect(text).toMatch(/mqgate_backend_messages_sent_total\{backend="bare"\} [1-9]/);
    expect(text).toMatch(/mqgate_backend_confirm_duration_seconds_count\{backend="bare"\} [1-9]/);
  });

  it('mqgate backends prints each backend and how it provides every feature', async () => {
    const r = await runCli(['backends', '--url', gw.url]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^bare\tlocal-bare\tup/m);
    expect(r.stdout).toContain('delayLevels: emulated — core scheduler');
  });
});
