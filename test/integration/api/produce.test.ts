import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { CallbackServer, Json } from '../../helpers/http.js';
import { apiClient, callbackServer } from '../../helpers/http.js';

let gw: TestGateway;
let cb: CallbackServer;
const api = apiClient(() => gw.url);

beforeAll(async () => {
  // topics must be created first: sends to unknown topics are 404
  gw = await startGateway({ broker: { autoCreateTopics: false } });
  cb = await callbackServer();
  for (const t of ['Orders', 'Other', 'Async', 'Batch', 'Idem'])
    expect((await api.put(`/v1/topics/${t}`, {})).status).toBe(200);
});
afterAll(async () => {
  await gw.stop();
  await cb.close();
});

/** Messages stored in a topic so far (sum of its queues' max offsets). */
async function stored(topic: string): Promise<number> {
  const r = await api.get(`/v1/topics/${topic}`);
  return (r.json.queueOffsets as Json[]).reduce((n: number, q: Json) => n + (q.maxOffset as number), 0);
}

describe('produce - POST /v1/topics/{topic}/messages', () => {
  it('stores a message and answers SEND_OK with its place', async () => {
    const r = await api.post('/v1/topics/Orders/messages', { body: { n: 1 }, tag: 'A', keys: ['k1'] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ topic: 'Orders', status: 'SEND_OK', queueOffset: 0 });
    expect(r.json.msgId).toMatch(/^[0-9A-F]{32}$/);
  });

  it('refuses an unknown field with the JSON error shape naming it', async () => {
    const r = await api.post('/v1/topics/Orders/messages', { body: 'x', colour: 'red' });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('MQ_ERR_BAD_REQUEST');
    expect(r.json.error.message).toContain('colour');
  });

  it('refuses a body that is not JSON, and an unknown route, in the same shape', async () => {
    const bad = await api.post('/v1/topics/Orders/messages', '{"body":', { raw: true });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('MQ_ERR_BAD_REQUEST');
    const res = await api.get('/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe('MQ_ERR_NOT_FOUND');
  });

  it('answers 404 MQ_ERR_TOPIC_NOT_FOUND for a topic that does not exist (autoCreateTopics off)', async () => {
    for (const path of ['/v1/topics/Nope/messages', '/v1/topics/Nope/messages?mode=async']) {
      const r = await api.post(path, { body: 'x' });
      expect(r.status).toBe(404);
      expect(r.json.error.code).toBe('MQ_ERR_TOPIC_NOT_FOUND');
    }
    const b = await api.post('/v1/topics/Nope/messages:batch', { messages: [{ body: 'x' }] });
    expect(b.status).toBe(404);
    expect(b.json.error.code).toBe('MQ_ERR_TOPIC_NOT_FOUND');
  });

  it('answers 415 for a body that is not JSON by its content type', async () => {
    const r = await api.post('/v1/topics/Orders/messages', 'hello', {
      raw: true,
      headers: { 'content-type': 'text/plain' },
    });
    expect(r.status).toBe(415);
    expect(r.json.error.code).toBe('MQ_ERR_UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 for a request over the body limit and for a message over maxMessageSize', async () => {
    const huge = await api.post('/v1/topics/Orders/messages', { body: 'x'.repeat(400 * 1024) });
    expect(huge.status).toBe(413);
    expect(huge.json.error.code).toBe('MQ_ERR_MESSAGE_TOO_LARGE');
    const over = await api.post('/v1/topics/Orders/messages', { body: 'x'.repeat(65 * 1024) });
    expect(over.status).toBe(413);
    expect(over.json.error.code).toBe('MQ_ERR_MESSAGE_TOO_LARGE');
  });

  it('refuses a bad mode, a callback URL without mode=async, and a callback URL that is not http(s)', async () => {
    const cases = [
      '/v1/topics/Orders/messages?mode=later',
      `/v1/topics/Orders/messages?callbackUrl=${encodeURIComponent(cb.url)}`,
      `/v1/topics/Orders/messages?mode=async&callbackUrl=${encodeURIComponent('ftp://x.example/')}`,
      `/v1/topics/Orders/messages?mode=async&callbackUrl=${encodeURIComponent('http://')}`,
    ];
    for (const path of cases) {
      const r = await api.post(path, { body: 'x' });
      expect(r.status, path).toBe(400);
      expect(r.json.error.code).toBe('MQ_ERR_BAD_REQUEST');
    }
  });
});

describe('produce - async and oneway modes', () => {
  it('async answers 202 with the msgId and POSTs the result to callbackUrl once stored', async () => {
    const before = cb.received.length;
    const r = await api.post(
      `/v1/topics/Async/messages?mode=async&callbackUrl=${encodeURIComponent(`${cb.url}/sent`)}`,
      {
        body: 'later',
      },
    );
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ topic: 'Async', mode: 'async' });
    expect(r.json.msgId).toMatch(/^[0-9A-F]{32}$/);
    const [got] = (await cb.waitFor(before + 1)).slice(before);
    expect(got?.path).toBe('/sent');
    expect(got?.body).toMatchObject({
      msgId: r.json.msgId,
      topic: 'Async',
      status: 'SEND_OK',
      mode: 'async',
    });
    const m = await api.get(`/v1/messages/${r.json.msgId}`);
    expect(m.status).toBe(200);
    expect(m.json.body).toBe('later');
  });

  it('async takes the callback URL from the X-Callback-Url header too', async () => {
    const before = cb.received.length;
    const r = await api.post(
      '/v1/topics/Async/messages?mode=async',
      { body: 'h' },
      {
        headers: { 'x-callback-url': `${cb.url}/hdr` },
      },
    );
    expect(r.status).toBe(202);
    const [got] = (await cb.waitFor(before + 1)).slice(before);
    expect(got?.path).toBe('/hdr');
    expect(got?.body.msgId).toBe(r.json.msgId);
  });

  it('oneway answers 202 and the message is stored, with no callback', async () => {
    const before = cb.received.length;
    const r = await api.post('/v1/topics/Async/messages?mode=oneway', { body: 'fire' });
    expect(r.status).toBe(202);
    expect(r.json.mode).toBe('oneway');
    let m = await api.get(`/v1/messages/${r.json.msgId}`);
    for (let i = 0; i < 100 && m.status === 404; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      m = await api.get(`/v1/messages/${r.json.msgId}`);
    }
    expect(m.status).toBe(200);
    expect(cb.received.length).toBe(before);
  });
});

describe('produce - Idempotency-Key', () => {
  const key = (k: string) => ({ headers: { 'idempotency-key': k } });

  it('returns the first result for the same key on the same topic, and marks the replay', async () => {
    const a = await api.post('/v1/topics/Idem/messages', { body: 'once' }, key('k-1'));
    const b = await api.post('/v1/topics/Idem/messages', { body: 'once' }, key('k-1'));
    expect(a.status).toBe(200);
    expect(b.json).toEqual(a.json);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const other = await api.post('/v1/topics/Other/messages', { body: 'once' }, key('k-1'));
    expect(other.json.msgId).not.toBe(a.json.msgId);
  });

  it('shares the first request while it is in flight: concurrent repeats store one message', async () => {
    const n = await stored('Idem');
    const all = await Promise.all(
      Array.from({ length: 8 }, () => api.post('/v1/topics/Idem/messages', { body: 'c' }, key('k-conc'))),
    );
    expect(new Set(all.map((r) => r.json.msgId as string)).size).toBe(1);
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(await stored('Idem')).toBe(n + 1);
  });

  it('replays an async answer with the same msgId, and forgets a first request that failed', async () => {
    const a = await api.post('/v1/topics/Idem/messages?mode=async', { body: 'a' }, key('k-async'));
    const b = await api.post('/v1/topics/Idem/messages?mode=async', { body: 'a' }, key('k-async'));
    expect(b.status).toBe(202);
    expect(b.json.msgId).toBe(a.json.msgId);
    const bad = await api.post('/v1/topics/Idem/messages', { body: 'x', queueId: 99 }, key('k-fail'));
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('MQ_ERR_QUEUE_INVALID');
    const good = await api.post('/v1/topics/Idem/messages', { body: 'x' }, key('k-fail'));
    expect(good.status).toBe(200);
  });
});

describe('produce - POST /v1/topics/{topic}/messages:batch', () => {
  it('stores every message and answers a result each', async () => {
    const r = await api.post('/v1/topics/Batch/messages:batch', {
      messages: [{ body: 'a' }, { body: { b: 2 }, tag: 'T' }, { bodyBase64: 'AAEC', keys: ['k'] }],
    });
    expect(r.status).toBe(200);
    expect(r.json.results).toHaveLength(3);
    expect(new Set(r.json.results.map((x: Json) => x.msgId as string)).size).toBe(3);
    for (const x of r.json.results) expect(x).toMatchObject({ topic: 'Batch', status: 'SEND_OK' });
  });

  it('follows RocketMQ batch rules: no delay, 1..1024 messages, total size bounded', async () => {
    const delayed = await api.post('/v1/topics/Batch/messages:batch', {
      messages: [{ body: 'a', delayLevel: 1 }],
    });
    expect(delayed.status).toBe(400);
    expect(delayed.json.error.code).toBe('MQ_ERR_MESSAGE_ILLEGAL');
    const none = await api.post('/v1/topics/Batch/messages:batch', { messages: [] });
    expect(none.status).toBe(400);
    const many = await api.post('/v1/topics/Batch/messages:batch', {
      messages: Array.from({ length: 1025 }, () => ({ body: '' })),
    });
    expect(many.status).toBe(400);
    const big = await api.post('/v1/topics/Batch/messages:batch', {
      messages: [{ body: 'x'.repeat(40 * 1024) }, { body: 'y'.repeat(40 * 1024) }],
    });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('MQ_ERR_MESSAGE_TOO_LARGE');
  });

  it('replays a batch for the same Idempotency-Key', async () => {
    const body = { messages: [{ body: 'a' }, { body: 'b' }] };
    const a = await api.post('/v1/topics/Batch/messages:batch', body, {
      headers: { 'idempotency-key': 'b-1' },
    });
    const b = await api.post('/v1/topics/Batch/messages:batch', body, {
      headers: { 'idempotency-key': 'b-1' },
    });
    expect(b.json).toEqual(a.json);
  });
});
