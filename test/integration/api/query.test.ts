import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { Json } from '../../helpers/http.js';
import { apiClient } from '../../helpers/http.js';

let gw: TestGateway;
const api = apiClient(() => gw.url);
let ids: string[] = [];
let between = 0;

beforeAll(async () => {
  gw = await startGateway({ broker: { autoCreateTopics: false } });
  await api.put('/v1/topics/Q', {});
  ids = [];
  for (const [i, keys] of [['order-1'], ['order-2'], ['order-1', 'vip']].entries()) {
    if (i === 2) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      between = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const r = await api.post('/v1/topics/Q/messages', { body: { i }, keys });
    ids.push(r.json.msgId as string);
  }
});
afterAll(async () => {
  await gw.stop();
});

describe('query - GET /v1/messages/{msgId}', () => {
  it('answers the message in its JSON form', async () => {
    const r = await api.get(`/v1/messages/${ids[0]}`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      msgId: ids[0],
      topic: 'Q',
      body: { i: 0 },
      keys: ['order-1'],
      backend: 'local',
    });
    expect((await api.get(`/v1/messages/${ids[0]?.toLowerCase()}`)).json.msgId).toBe(ids[0]);
  });

  it('answers 404 for an unknown id and 400 for one that is not 32 hex digits', async () => {
    const unknown = await api.get(`/v1/messages/${'AB'.repeat(16)}`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('MQ_ERR_MSG_NOT_FOUND');
    const bad = await api.get('/v1/messages/xyz');
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('MQ_ERR_BAD_REQUEST');
  });
});

describe('query - GET /v1/topics/{topic}/messages?key=', () => {
  const bodies = (r: Json): number[] => r.json.messages.map((m: Json) => m.body.i as number);

  it('finds the messages of a key, oldest first, within [begin, end]', async () => {
    expect(bodies(await api.get('/v1/topics/Q/messages?key=order-1'))).toEqual([0, 2]);
    expect(bodies(await api.get('/v1/topics/Q/messages?key=vip'))).toEqual([2]);
    expect(bodies(await api.get('/v1/topics/Q/messages?key=none'))).toEqual([]);
    expect(bodies(await api.get(`/v1/topics/Q/messages?key=order-1&begin=${between}`))).toEqual([2]);
    expect(bodies(await api.get(`/v1/topics/Q/messages?key=order-1&end=${between}`))).toEqual([0]);
    const iso = encodeURIComponent(new Date(between).toISOString());
    expect(bodies(await api.get(`/v1/topics/Q/messages?key=order-1&begin=${iso}`))).toEqual([2]);
    expect(bodies(await api.get('/v1/topics/Q/messages?key=order-1&maxMessages=1'))).toHaveLength(1);
  });

  it('refuses a missing key or a bad time with 400, and an unknown topic with 404', async () => {
    expect((await api.get('/v1/topics/Q/messages')).status).toBe(400);
    const t = await api.get('/v1/topics/Q/messages?key=order-1&begin=yesterday');
    expect(t.status).toBe(400);
    expect(t.json.error.message).toContain('begin');
    const unknown = await api.get('/v1/topics/Nope/messages?key=order-1');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('MQ_ERR_TOPIC_NOT_FOUND');
  });
});
