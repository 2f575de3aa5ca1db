/**
 * Bad input, thrown at every route of the served OpenAPI document and at the WebSocket: random
 * and malformed bodies, path parameters, query strings and headers, random frames. Never a
 * 5xx, never a crash, always the JSON error shape; the socket answers error frames and its
 * other subscription keeps receiving.
 */
import fc from 'fast-check';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';

let gw: TestGateway;
let routes: { method: string; path: string }[] = [];

beforeAll(async () => {
  gw = await startGateway({ broker: { autoCreateTopics: false } });
  await gw.gateway.upsertTopic('Fuzz');
  // the socket's own topic: the REST fuzzing may delete or change 'Fuzz'
  await gw.gateway.upsertTopic('FuzzSocket');
  const doc = (await (await fetch(`${gw.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  for (const [p, ops] of Object.entries(doc.paths))
    for (const m of Object.keys(ops)) routes.push({ method: m.toUpperCase(), path: p });
  routes = routes.filter((r) => r.path !== '/v1/ws');
});
afterAll(async () => {
  await gw.stop();
});

const segment = fc.oneof(
  fc.constantFrom(
    'Fuzz',
    'g1',
    '0',
    '-1',
    '99999999999999999999',
    '%00',
    '..',
    '%2F',
    'a'.repeat(300),
    '%E2%82',
    '',
  ),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.string({ unit: 'binary', maxLength: 10 }).map(encodeURIComponent),
);

const body = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.constantFrom('{', '{"topic":', '[]', 'null', '{"body":1e999}', '{"__proto__":{"x":1}}', '\u0000', ''),
  fc
    .record(
      {
        topic: fc.oneof(fc.constant('Fuzz'), fc.string({ maxLength: 10 })),
        receiptHandle: fc.string({ maxLength: 60 }),
        receiptHandles: fc.array(fc.string({ maxLength: 40 }), { maxLength: 3 }),
        message: fc.anything({ maxDepth: 2 }),
        body: fc.anything({ maxDepth: 2 }),
        maxMessages: fc.integer(),
        waitSeconds: fc.integer({ min: -5, max: 2 }),
        invisibleSeconds: fc.integer(),
        delayLevel: fc.integer(),
        producerGroup: fc.string({ maxLength: 10 }),
        checkUrl: fc.string({ maxLength: 30 }),
        queues: fc.integer(),
        offset: fc.integer(),
        queueId: fc.integer(),
        to: fc.oneof(fc.string(), fc.integer()),
        filter: fc.anything({ maxDepth: 2 }),
        messages: fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/json; charset=latin1',
  undefined,
);

const query = fc.array(
  fc.tuple(
    fc.constantFrom('offset', 'maxMessages', 'topic', 'key', 'begin', 'end', 'mode', 'x'),
    fc.string({ maxLength: 12 }),
  ),
  {
    maxLength: 3,
  },
);

describe('every REST route, random and malformed input', () => {
  it('the document lists the routes of API.md', () => {
    expect(routes.length).toBeGreaterThan(25);
  });

  it('never answers 5xx, always the JSON error shape on 4xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.array(segment, { minLength: 3, maxLength: 3 }),
        body,
        contentType,
        query,
        fc.option(fc.string({ maxLength: 30 })),
        fc.option(fc.string({ maxLength: 200 })),
        fc.option(
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.string({ maxLength: 40 }).map((k) => `Bearer ${k}`),
          ),
        ),
        async (pick, segs, b, ct, q, idem, reqId, auth) => {
          const r = routes[pick % routes.length] as { method: string; path: string };
          let i = 0;
          const p = r.path.replace(/\{[^}]+\}/g, () => segs[i++ % segs.length] as string);
          const qs = q.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
          const headers: Record<string, string> = {};
          if (ct !== undefined) headers['content-type'] = ct;
          const printable = (v: string): string => v.replace(/[^\x20-\x7e]/g, '');
          if (idem !== null) headers['idempotency-key'] = printable(idem);
          if (reqId !== null) headers['x-request-id'] = printable(reqId);
          if (auth !== null) headers.authorization = printable(auth);
          const hasBody = r.method !== 'GET' && r.method !== 'DELETE';
          const res = await fetch(`${gw.url}${p}${qs === '' ? '' : `?${qs}`}`, {
            method: r.method,
            headers,
            ...(hasBody ? { body: b } : {}),
            signal: AbortSignal.timeout(10_000),
          });
          const text = await res.text();
          expect(res.status, `${r.method} ${p} -> ${res.status} ${text}`).toBeLessThan(500);
          if (res.status >= 400) {
            const j = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
            expect(typeof j.error?.code, text).toBe('string');
            expect(typeof j.error?.message, text).toBe('string');
          }
        },
      ),
      { numRuns: 600 },
    );
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});

describe('the WebSocket, random frames', () => {
  it('answers error frames and keeps the connection and its subscription', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/v1/ws`);
    await new Promise((r, j) => {
      ws.once('open', r);
      ws.once('error', j);
    });
    const frames: Record<string, unknown>[] = [];
    ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
    ws.send(
      JSON.stringify({ id: 'sub', op: 'subscribe', group: 'fuzzers', topic: 'FuzzSocket', credit: 1000 }),
    );
    const frame = fc.oneof(
      fc.string({ maxLength: 100 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            id: fc.oneof(fc.string({ maxLength: 5 }), fc.integer()),
            op: fc.constantFrom(
              'publish',
              'subscribe',
              'ack',
              'nack',
              'credit',
              'unsubscribe',
              'txRegister',
              'txResolve',
              'x',
              '',
            ),
            topic: fc.oneof(fc.constant('FuzzSocket'), fc.string({ maxLength: 8 })),
            group: fc.string({ maxLength: 8 }),
            message: fc.anything({ maxDepth: 2 }),
            receiptHandle: fc.string({ maxLength: 40 }),
            subscription: fc.oneof(fc.constant('sub'), fc.string({ maxLength: 4 })),
            n: fc.integer(),
            credit: fc.integer(),
            state: fc.string({ maxLength: 8 }),
          },
          { requiredKeys: ['op'] },
        )
        .filter((f) => !(f.op === 'unsubscribe' && f.subscription === 'sub'))
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(frame, async (f) => {
        ws.send(f);
      }),
      { numRuns: 500 },
    );
    ws.send(
      JSON.stringify({ id: 'last', op: 'publish', topic: 'FuzzSocket', message: { body: 'still here' } }),
    );
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (frames.some((x) => x.op === 'message' && (x.message as { body?: unknown }).body === 'still here'))
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(frames.some((x) => x.op === 'error')).toBe(true);
    expect(
      frames.some((x) => x.op === 'message' && (x.message as { body?: unknown }).body === 'still here'),
    ).toBe(true);
    ws.close();
  });
});
