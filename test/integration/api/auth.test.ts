import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../../src/api/access.js';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions
type Json = any;

const ADMIN = 'admin-key-0123456789';
const PUB = 'orders-producer-key-0001';
const SUB = 'orders-consumer-key-0001';
const LIMITED = 'limited-key-0123456789';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({
    auth: {
      keys: [
        { name: 'ops', keyHash: hashKey(ADMIN), admin: true },
        { name: 'producer', key: PUB, topics: { Orders: 'PUB' } },
        { name: 'consumer', key: SUB, topics: { Orders: 'SUB' }, groups: { billing: 'SUB' } },
        { name: 'limited', key: LIMITED, topics: { '*': 'PUB' }, rateLimit: 3 },
      ],
      rateWindowMs: 60_000,
    },
  });
});
afterAll(async () => {
  await gw.stop();
});

async function call(
  method: string,
  path: string,
  key?: string,
  body?: unknown,
): Promise<{ status: number; json: Json; headers: Headers }> {
  const res = await fetch(gw.url + path, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text.startsWith('{') ? JSON.parse(text) : text, headers: res.headers };
}

const send = (topic: string, key?: string) =>
  call('POST', `/v1/topics/${topic}/messages`, key, { body: 'x' });

describe('authentication', () => {
  it('answers 401 MQ_ERR_UNAUTHORIZED without a key, with a malformed header and with an unknown key', async () => {
    for (const r of [
      await send('Orders'),
      await send('Orders', 'not-a-configured-key-at-all'),
      await fetch(`${gw.url}/v1/topics/Orders/messages`, {
        method: 'POST',
        headers: { authorization: `Basic ${PUB}`, 'content-type': 'application/json' },
        body: '{"body":"x"}',
      }).then(async (res) => ({
        status: res.status,
        json: (await res.json()) as Json,
        headers: res.headers,
      })),
    ]) {
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('MQ_ERR_UNAUTHORIZED');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  });

  it('checks the key before reading the body (401 even for a body that is not JSON)', async () => {
    const res = await fetch(`${gw.url}/v1/topics/Orders/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"body":',
    });
    expect(res.status).toBe(401);
  });

  it('keeps /healthz and /readyz open', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
  });
});

describe('authorization of the produce route', () => {
  it('lets PUB on the topic send (200), and an admin key configured by its hash', async () => {
    expect((await send('Orders', PUB)).status).toBe(200);
    expect((await send('Anything', ADMIN)).status).toBe(200);
  });

  it('answers 403 MQ_ERR_FORBIDDEN for another topic and for SUB only, naming the permission', async () => {
    const other = await send('Payments', PUB);
    expect(other.status).toBe(403);
    expect(other.json.error.code).toBe('MQ_ERR_FORBIDDEN');
    expect(other.json.error.message).toContain('PUB on topic "Payments"');
    const sub = await send('Orders', SUB);
    expect(sub.status).toBe(403);
    expect(sub.json.error.message).toContain('key "consumer"');
  });
});

describe('operations routes', () => {
  it('serves /metrics to admin keys only', async () => {
    expect((await call('GET', '/metrics')).status).toBe(401);
    expect((await call('GET', '/metrics', PUB)).status).toBe(403);
    const r = await call('GET', '/metrics', ADMIN);
    expect(r.status).toBe(200);
    expect(r.json).toContain('mqgate_http_requests_total');
  });

  it('refuses unknown routes as before (404 with the error shape)', async () => {
    const r = await call('GET', '/v1/nothing-here', ADMIN);
    expect(r.status).toBe(404);
    expect(r.json.error.code).toBe('MQ_ERR_NOT_FOUND');
  });
});

describe('the real app', () => {
  it('has an access rule for every route it registers', () => {
    expect(gw.app.routeAccess.length).toBeGreaterThan(0);
    expect(gw.app.routeAccess.filter((r) => !r.covered)).toEqual([]);
  });
});

describe('rate limit per key', () => {
  it('answers 429 MQ_ERR_RATE_LIMITED with Retry-After once the key used its requests', async () => {
    for (let i = 0; i < 3; i++) expect((await send('Limited', LIMITED)).status).toBe(200);
    const r = await send('Limited', LIMITED);
    expect(r.status).toBe(429);
    expect(r.json.error.code).toBe('MQ_ERR_RATE_LIMITED');
    expect(r.json.error.message).toContain('"limited"');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    // other keys have their own budget
    expect((await send('Orders', PUB)).status).toBe(200);
  });
});
