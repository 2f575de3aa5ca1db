import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the assertions
type Json = any;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw.stop();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('POST /v1/topics/{topic}/messages', () => {
  it('stores a message and answers SEND_OK with its place', async () => {
    const r = await post('/v1/topics/Orders/messages', { body: { n: 1 }, tag: 'A', keys: ['k1'] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ topic: 'Orders', status: 'SEND_OK', queueOffset: 0 });
    expect(r.json.msgId).toMatch(/^[0-9A-F]{32}$/);
  });

  it('refuses an unknown field with the JSON error shape naming it', async () => {
    const r = await post('/v1/topics/Orders/messages', { body: 'x', colour: 'red' });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('MQ_ERR_BAD_REQUEST');
    expect(r.json.error.message).toContain('colour');
  });

  it('refuses a body that is not JSON, and an unknown route, in the same shape', async () => {
    const bad = await post('/v1/topics/Orders/messages', '{"body":');
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('MQ_ERR_BAD_REQUEST');
    const res = await fetch(`${gw.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as Json).error.code).toBe('MQ_ERR_NOT_FOUND');
  });
});
