import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { Json } from '../../helpers/http.js';
import { apiClient } from '../../helpers/http.js';

let gw: TestGateway;
const api = apiClient(() => gw.url);
let sentAt = 0;

beforeAll(async () => {
  gw = await startGateway({ broker: { autoCreateTopics: false } });
  expect((await api.put('/v1/topics/P', { queues: 2 })).status).toBe(200);
  sentAt = Date.now();
  for (const body of ['a', 'b', 'c'])
    expect((await api.post('/v1/topics/P/messages', { body, queueId: 0 })).status).toBe(200);
});
afterAll(async () => {
  await gw.stop();
});

const offsetsOf = (r: Json): number[] => r.json.offsets.map((q: Json) => q.offset as number);

describe('pull - GET /v1/topics/{topic}/queues/{queueId}/messages', () => {
  it('reads by offset with the next offset and the queue bounds', async () => {
    const r = await api.get('/v1/topics/P/queues/0/messages?offset=0');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: 'FOUND', nextOffset: 3, minOffset: 0, maxOffset: 3 });
    expect(r.json.messages.map((m: Json) => [m.body, m.queueOffset])).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 2],
    ]);
    const page = await api.get('/v1/topics/P/queues/0/messages?offset=1&maxMessages=1');
    expect(page.json.messages.map((m: Json) => m.body)).toEqual(['b']);
    expect(page.json.nextOffset).toBe(2);
    const end = await api.get('/v1/topics/P/queues/0/messages?offset=3');
    expect(end.json).toMatchObject({ status: 'OFFSET_OVERFLOW_ONE', messages: [], nextOffset: 3 });
  });

  it('refuses a queue outside the topic, a missing or negative offset, and an unknown topic', async () => {
    const q = await api.get('/v1/topics/P/queues/7/messages?offset=0');
    expect(q.status).toBe(400);
    expect(q.json.error.code).toBe('MQ_ERR_QUEUE_INVALID');
    for (const path of ['/v1/topics/P/queues/0/messages', '/v1/topics/P/queues/0/messages?offset=-1']) {
      const r = await api.get(path);
      expect(r.status, path).toBe(400);
      expect(r.json.error.code).toBe('MQ_ERR_BAD_REQUEST');
    }
    const t = await api.get('/v1/topics/Nope/queues/0/messages?offset=0');
    expect(t.status).toBe(404);
    expect(t.json.error.code).toBe('MQ_ERR_TOPIC_NOT_FOUND');
  });
});

describe('pull - group offsets', () => {
  it('lists, commits and resets a group offsets with lag', async () => {
    expect((await api.put('/v1/groups/PG', { consumeFrom: 'FIRST' })).status).toBe(200);
    const first = await api.get('/v1/groups/PG/offsets?topic=P');
    expect(first.status).toBe(200);
    expect(first.json.offsets).toEqual([
      { queueId: 0, offset: 0, minOffset: 0, maxOffset: 3, lag: 3, inflight: 0 },
      { queueId: 1, offset: 0, minOffset: 0, maxOffset: 0, lag: 0, inflight: 0 },
    ]);
    const put = await api.put('/v1/groups/PG/offsets', { topic: 'P', queueId: 0, offset: 2 });
    expect(put.status).toBe(200);
    expect(put.json.offsets[0]).toMatchObject({ offset: 2, lag: 1 });
    // a POP receive goes on from the committed offset
    const got = await api.post('/v1/groups/PG/receive', { topic: 'P' });
    expect(got.json.messages.map((m: Json) => m.body)).toEqual(['c']);
    expect(offsetsOf(await api.post('/v1/groups/PG/offsets/reset', { topic: 'P', to: 'FIRST' }))).toEqual([
      0, 0,
    ]);
    expect(offsetsOf(await api.post('/v1/groups/PG/offsets/reset', { topic: 'P', to: 'LAST' }))).toEqual([
      3, 0,
    ]);
    const byTime = await api.post('/v1/groups/PG/offsets/reset', { topic: 'P', to: sentAt - 1 });
    expect(offsetsOf(byTime)).toEqual([0, 0]);
    const iso = await api.post('/v1/groups/PG/offsets/reset', {
      topic: 'P',
      to: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(offsetsOf(iso)).toEqual([3, 0]);
  });

  it('refuses an offset outside the queue, a bad reset target, and a missing topic', async () => {
    const out = await api.put('/v1/groups/PG/offsets', { topic: 'P', queueId: 0, offset: 99 });
    expect(out.status).toBe(400);
    expect(out.json.error.code).toBe('MQ_ERR_OFFSET_INVALID');
    expect(out.json.error.details).toEqual({ minOffset: 0, maxOffset: 3 });
    const to = await api.post('/v1/groups/PG/offsets/reset', { topic: 'P', to: 'yesterday' });
    expect(to.status).toBe(400);
    expect((await api.get('/v1/groups/PG/offsets')).status).toBe(400);
    const unknown = await api.get('/v1/groups/PG/offsets?topic=Nope');
    expect(unknown.status).toBe(404);
  });
});
