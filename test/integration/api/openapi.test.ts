import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { Json } from '../../helpers/http.js';
import { apiClient } from '../../helpers/http.js';

let gw: TestGateway;
const api = apiClient(() => gw.url);

beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw.stop();
});

/** Every route of API.md (REST), as OpenAPI names it. */
const ROUTES = [
  'GET /healthz',
  'GET /readyz',
  'POST /v1/topics/{topic}/messages',
  'POST /v1/topics/{topic}/messages:batch',
  'POST /v1/topics/{topic}/transactions',
  'POST /v1/transactions/{transactionId}/commit',
  'POST /v1/transactions/{transactionId}/rollback',
  'POST /v1/groups/{group}/receive',
  'POST /v1/groups/{group}/ack',
  'POST /v1/groups/{group}/nack',
  'POST /v1/groups/{group}/invisible-duration',
  'GET /v1/groups',
  'PUT /v1/groups/{group}',
  'GET /v1/groups/{group}',
  'DELETE /v1/groups/{group}',
  'GET /v1/topics/{topic}/queues/{queueId}/messages',
  'GET /v1/groups/{group}/offsets',
  'PUT /v1/groups/{group}/offsets',
  'POST /v1/groups/{group}/offsets/reset',
  'GET /v1/topics',
  'PUT /v1/topics/{topic}',
  'GET /v1/topics/{topic}',
  'DELETE /v1/topics/{topic}',
  'GET /v1/messages/{msgId}',
  'GET /v1/topics/{topic}/messages',
  'GET /v1/groups/{group}/dlq',
  'POST /v1/groups/{group}/dlq/{msgId}/resend',
  'GET /v1/backends',
];

function operations(doc: Json): [string, Json][] {
  const out: [string, Json][] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>))
    for (const [method, op] of Object.entries(item as Record<string, Json>))
      out.push([`${method.toUpperCase()} ${path}`, op]);
  return out;
}

describe('openapi - /openapi.json and /docs', () => {
  it('lists every route, each with tags, a summary, a 2xx and the shared error responses', async () => {
    const r = await api.get('/openapi.json');
    expect(r.status).toBe(200);
    expect(r.json.openapi).toMatch(/^3\./);
    expect(r.json.info.title).toBe('mqgate');
    const ops = operations(r.json);
    expect(ops.map(([name]) => name).sort()).toEqual([...ROUTES].sort());
    expect(r.json.components.schemas.Error).toBeDefined();
    for (const [name, op] of ops) {
      expect(op.tags?.length, name).toBeGreaterThan(0);
      expect(typeof op.summary, name).toBe('string');
      expect(
        Object.keys(op.responses).some((s) => s.startsWith('2')),
        name,
      ).toBe(true);
      if (name.startsWith('GET /healthz') || name.startsWith('GET /readyz')) continue;
      for (const status of ['400', '500'])
        expect(op.responses[status]?.content['application/json'].schema, `${name} ${status}`).toEqual({
          $ref: '#/components/schemas/Error',
        });
    }
  });

  it('documents only routes that exist: none of them is an unknown route', async () => {
    const r = await api.get('/openapi.json');
    for (const [name] of operations(r.json)) {
      const [method, path] = name.split(' ') as [string, string];
      const url = path
        .replace('{topic}', 'DocTopic')
        .replace('{group}', 'DocGroup')
        .replace('{queueId}', '0')
        .replace(/\{\w+\}/g, 'AB'.repeat(16));
      const res = await fetch(gw.url + url, { method });
      const body = (await res.json()) as Json;
      // the not-found handler's code; a missing resource has its own (MQ_ERR_TOPIC_NOT_FOUND...)
      expect(body?.error?.code, name).not.toBe('MQ_ERR_NOT_FOUND');
    }
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await fetch(`${gw.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
  });

  it('serves neither with api.docs off', async () => {
    const off = await startGateway({ api: { docs: false } });
    try {
      expect((await fetch(`${off.url}/openapi.json`)).status).toBe(404);
      expect((await fetch(`${off.url}/docs`)).status).toBe(404);
    } finally {
      await off.stop();
    }
  });
});
