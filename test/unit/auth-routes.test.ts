import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_ACCESS, installAccessControl, ruleFor } from '../../src/api/rest/auth.js';
import { installErrorHandling } from '../../src/api/rest/errors.js';
import { validateConfig } from '../../src/config/load.js';

/** Every route of the API contract (docs/API.md), as fastify patterns. */
const CONTRACT = [
  'POST /v1/topics/:topic/messages',
  'POST /v1/topics/:topic/messages::batch',
  'POST /v1/topics/:topic/transactions',
  'POST /v1/transactions/:transactionId/commit',
  'POST /v1/transactions/:transactionId/rollback',
  'POST /v1/groups/:group/receive',
  'POST /v1/groups/:group/ack',
  'POST /v1/groups/:group/nack',
  'POST /v1/groups/:group/invisible-duration',
  'PUT /v1/groups/:group',
  'GET /v1/topics/:topic/queues/:queueId/messages',
  'GET /v1/groups/:group/offsets',
  'PUT /v1/groups/:group/offsets',
  'POST /v1/groups/:group/offsets/reset',
  'GET /v1/topics',
  'PUT /v1/topics/:topic',
  'GET /v1/topics/:topic',
  'DELETE /v1/topics/:topic',
  'GET /v1/groups',
  'GET /v1/groups/:group',
  'DELETE /v1/groups/:group',
  'GET /v1/messages/:msgId',
  'GET /v1/topics/:topic/messages',
  'GET /v1/groups/:group/dlq',
  'POST /v1/groups/:group/dlq/:msgId/resend',
  'GET /v1/backends',
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /openapi.json',
  'GET /docs',
];

const KEYS = {
  admin: 'admin-key-0123456789',
  producer: 'producer-key-0123456789',
  consumer: 'consumer-key-0123456789',
};

function config(withKeys: boolean) {
  return validateConfig({
    auth: {
      keys: withKeys
        ? [
            { name: 'admin', key: KEYS.admin, admin: true },
            { name: 'producer', key: KEYS.producer, topics: { Orders: 'PUB' } },
            { name: 'consumer', key: KEYS.consumer, topics: { Orders: 'SUB' }, groups: { billing: 'SUB' } },
          ]
        : [],
    },
  });
}

/** An app with the access hooks and a dummy handler on every route of the table. */
async function dummyApp(withKeys: boolean, warnings: string[] = []): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: 'warn',
      stream: { write: (line: string) => void warnings.push(line) },
    },
  });
  installErrorHandling(app);
  await installAccessControl(app, config(withKeys));
  for (const route of [...Object.keys(ROUTE_ACCESS), 'GET /docs/static/*', 'GET /v1/not-in-the-table']) {
    const [method, url] = route.split(' ') as [string, string];
    app.route({ method: method as 'GET', url, handler: async () => ({ ok: true }) });
  }
  await app.ready();
  return app;
}

let app: FastifyInstance;
const warnings: string[] = [];
beforeAll(async () => {
  app = await dummyApp(true, warnings);
});
afterAll(async () => {
  await app.close();
});

async function status(
  method: string,
  url: string,
  key?: keyof typeof KEYS,
  body?: Record<string, unknown>,
): Promise<number> {
  const res = await app.inject({
    method: method as 'GET',
    url,
    headers: key === undefined ? {} : { authorization: `Bearer ${KEYS[key]}` },
    ...(body === undefined ? {} : { payload: body }),
  });
  return res.statusCode;
}

describe('the route access table', () => {
  it('has a rule for every route of the API contract', () => {
    for (const route of CONTRACT) {
      const [method, url] = route.split(' ') as [string, string];
      expect(ruleFor(method, url), route).toBeDefined();
    }
    expect(ruleFor('HEAD', '/v1/backends')).toBe(ruleFor('GET', '/v1/backends'));
    expect(ruleFor('GET', '/docs/static/index.html')).toBe(ruleFor('GET', '/docs'));
  });

  it('lists the routes it saw and which ones it covers (HEAD routes included)', () => {
    const missing = app.routeAccess.filter((r) => !r.covered).map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual(['GET /v1/not-in-the-table', 'HEAD /v1/not-in-the-table']);
    expect(app.routeAccess.some((r) => r.method === 'HEAD' && r.url === '/healthz')).toBe(true);
    expect(warnings.join('')).toContain('/v1/not-in-the-table');
  });

  it('refuses a route missing from the table to every key, admin included (fail closed)', async () => {
    expect(await status('GET', '/v1/not-in-the-table', 'admin')).toBe(403);
    expect(await status('GET', '/v1/not-in-the-table')).toBe(401);
  });
});

describe('what each kind of route needs', () => {
  it('produce: PUB on the topic of the path, for single and batch sends', async () => {
    expect(await status('POST', '/v1/topics/Orders/messages', 'producer', {})).toBe(200);
    expect(await status('POST', '/v1/topics/Orders/messages:batch', 'producer', {})).toBe(200);
    expect(await status('POST', '/v1/topics/Orders/messages:batch', 'consumer', {})).toBe(403);
    expect(await status('POST', '/v1/topics/Orders/transactions', 'producer', {})).toBe(200);
    expect(await status('POST', '/v1/topics/Other/transactions', 'producer', {})).toBe(403);
  });

  it('commit and rollback: PUB on some topic', async () => {
    expect(await status('POST', '/v1/transactions/ABC/commit', 'producer')).toBe(200);
    expect(await status('POST', '/v1/transactions/ABC/rollback', 'consumer')).toBe(403);
  });

  it('receive, ack, nack, invisible-duration, offsets: SUB on the group and on the topic', async () => {
    for (const op of ['receive', 'ack', 'nack', 'invisible-duration', 'offsets/reset']) {
      expect(await status('POST', `/v1/groups/billing/${op}`, 'consumer', { topic: 'Orders' }), op).toBe(200);
      expect(await status('POST', `/v1/groups/billing/${op}`, 'consumer', { topic: 'Other' }), op).toBe(403);
      expect(await status('POST', `/v1/groups/other/${op}`, 'consumer', { topic: 'Orders' }), op).toBe(403);
      expect(await status('POST', `/v1/groups/billing/${op}`, 'producer', { topic: 'Orders' }), op).toBe(403);
    }
    expect(await status('PUT', '/v1/groups/billing/offsets', 'consumer', { topic: 'Orders' })).toBe(200);
    expect(await status('GET', '/v1/groups/billing/offsets?topic=Orders', 'consumer')).toBe(200);
    expect(await status('GET', '/v1/groups/billing/offsets?topic=Other', 'consumer')).toBe(403);
    // no topic: only an admin may (fail closed)
    expect(await status('POST', '/v1/groups/billing/receive', 'consumer', {})).toBe(403);
    expect(await status('GET', '/v1/groups/billing/offsets', 'admin')).toBe(200);
  });

  it('pull by offset and query by key: SUB on the topic', async () => {
    expect(await status('GET', '/v1/topics/Orders/queues/0/messages?offset=0', 'consumer')).toBe(200);
    expect(await status('GET', '/v1/topics/Orders/messages?key=k', 'consumer')).toBe(200);
    expect(await status('GET', '/v1/topics/Orders/messages?key=k', 'producer')).toBe(403);
  });

  it('admin routes: topics and groups changed or listed, message by id, DLQ resend, metrics, docs', async () => {
    for (const [method, url] of [
      ['PUT', '/v1/topics/Orders'],
      ['DELETE', '/v1/topics/Orders'],
      ['GET', '/v1/topics'],
      ['PUT', '/v1/groups/billing'],
      ['DELETE', '/v1/groups/billing'],
      ['GET', '/v1/groups'],
      ['GET', '/v1/messages/0A0B'],
      ['POST', '/v1/groups/billing/dlq/0A0B/resend'],
      ['GET', '/metrics'],
      ['GET', '/openapi.json'],
      ['GET', '/docs'],
      ['GET', '/docs/static/index.html'],
    ] as const) {
      expect(await status(method, url, 'consumer'), `${method} ${url}`).toBe(403);
      expect(await status(method, url, 'admin'), `${method} ${url}`).toBe(200);
    }
  });

  it('reading a topic needs PUB or SUB on it; a group, SUB on it; backends, any key', async () => {
    expect(await status('GET', '/v1/topics/Orders', 'producer')).toBe(200);
    expect(await status('GET', '/v1/topics/Orders', 'consumer')).toBe(200);
    expect(await status('GET', '/v1/topics/Other', 'consumer')).toBe(403);
    expect(await status('GET', '/v1/groups/billing', 'consumer')).toBe(200);
    expect(await status('GET', '/v1/groups/billing/dlq', 'producer')).toBe(403);
    expect(await status('GET', '/v1/backends', 'producer')).toBe(200);
    expect(await status('HEAD', '/v1/backends')).toBe(401);
  });

  it('open routes need no key', async () => {
    expect(await status('GET', '/healthz')).toBe(200);
    expect(await status('HEAD', '/readyz')).toBe(200);
    expect(await status('GET', '/v1/ws')).toBe(200);
  });
});

describe('without keys', () => {
  it('adds no hook: every route answers without a key', async () => {
    const off = await dummyApp(false);
    try {
      expect((await off.inject({ method: 'PUT', url: '/v1/topics/Orders' })).statusCode).toBe(200);
      expect((await off.inject({ method: 'GET', url: '/v1/not-in-the-table' })).statusCode).toBe(200);
    } finally {
      await off.close();
    }
  });
});
