import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { Json } from '../../helpers/http.js';
import { apiClient } from '../../helpers/http.js';

let gw: TestGateway;
const api = apiClient(() => gw.url);

beforeAll(async () => {
  gw = await startGateway({ broker: { autoCreateTopics: false } });
});
afterAll(async () => {
  await gw.stop();
});

describe('admin - topics', () => {
  it('creates, lists, shows, grows and deletes a topic', async () => {
    const put = await api.put('/v1/topics/Shop', { queues: 2 });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ name: 'Shop', queues: 2, perm: 'RW', backend: 'local', system: false });
    expect(put.json.capabilities).toMatchObject({ transactions: 'native', sqlFilter: 'native' });
    await api.post('/v1/topics/Shop/messages', { body: 'x', queueId: 1 });
    const got = await api.get('/v1/topics/Shop');
    expect(got.json.queueOffsets).toEqual([
      { queueId: 0, minOffset: 0, maxOffset: 0 },
      { queueId: 1, minOffset: 0, maxOffset: 1 },
    ]);
    const list = await api.get('/v1/topics');
    expect(list.json.topics.map((t: Json) => t.name)).toContain('Shop');
    expect(list.json.topics.find((t: Json) => t.name === 'Shop')).toMatchObject({
      queues: 2,
      backend: 'local',
    });
    expect((await api.put('/v1/topics/Shop', { queues: 4 })).json.queues).toBe(4);
    expect((await api.put('/v1/topics/Shop')).json.queues).toBe(4);
    const del = await api.del('/v1/topics/Shop');
    expect(del.json).toEqual({ name: 'Shop', deleted: true });
    expect((await api.get('/v1/topics/Shop')).status).toBe(404);
    const again = await api.del('/v1/topics/Shop');
    expect(again.status).toBe(404);
    expect(again.json.error.code).toBe('MQ_ERR_TOPIC_NOT_FOUND');
  });

  it('a read-only topic refuses sends with 403', async () => {
    expect((await api.put('/v1/topics/ReadOnly', { perm: 'R' })).status).toBe(200);
    const r = await api.post('/v1/topics/ReadOnly/messages', { body: 'x' });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('MQ_ERR_TOPIC_PERMISSION');
  });

  it('refuses a shrink, another backend, a bad perm or name, and system topics', async () => {
    await api.put('/v1/topics/Fixed', { queues: 4 });
    const shrink = await api.put('/v1/topics/Fixed', { queues: 2 });
    expect(shrink.status).toBe(400);
    expect(shrink.json.error.code).toBe('MQ_ERR_QUEUE_INVALID');
    const backend = await api.put('/v1/topics/Fixed', { backend: 'kafka' });
    expect(backend.status).toBe(400);
    expect(backend.json.error.details).toEqual({ backend: 'kafka', available: ['local'] });
    expect((await api.put('/v1/topics/Fixed', { backend: 'local' })).status).toBe(200);
    expect((await api.put('/v1/topics/Fixed', { perm: 'X' })).status).toBe(400);
    expect((await api.put('/v1/topics/Fixed', { queues: 0 })).status).toBe(400);
    expect((await api.put('/v1/topics/bad%20name', {})).status).toBe(400);
    const sys = await api.put(`/v1/topics/${encodeURIComponent('%DLQ%g')}`, {});
    expect(sys.status).toBe(403);
    expect(sys.json.error.code).toBe('MQ_ERR_TOPIC_SYSTEM');
    expect((await api.del(`/v1/topics/${encodeURIComponent('%RETRY%g')}`)).status).toBe(403);
  });
});

describe('admin - groups', () => {
  it('creates, lists, shows and deletes a group', async () => {
    const put = await api.put('/v1/groups/Billing', { maxReconsumeTimes: 3, retryDelayLevels: [1, 2] });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({
      name: 'Billing',
      consumeMode: 'CLUSTERING',
      orderly: false,
      maxReconsumeTimes: 3,
      retryDelayLevels: [1, 2],
      consumeFrom: 'LAST',
    });
    // PUT keeps what it is not given
    expect((await api.put('/v1/groups/Billing', { orderly: true })).json).toMatchObject({ orderly: true });
    const list = await api.get('/v1/groups');
    expect(list.json.groups.map((g: Json) => g.name)).toContain('Billing');
    const one = await api.get('/v1/groups/Billing');
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ config: { name: 'Billing' }, consumers: [], subscriptions: [] });
    expect(one.json).toMatchObject({ retryMessages: 0, dlqMessages: 0, stats: { delivered: 0, acked: 0 } });
    expect((await api.del('/v1/groups/Billing')).json).toEqual({ name: 'Billing', deleted: true });
    const gone = await api.get('/v1/groups/Billing');
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe('MQ_ERR_GROUP_NOT_FOUND');
    expect((await api.del('/v1/groups/Billing')).status).toBe(404);
  });

  it('shows live consumers and the lag per queue of their topics, and of ?topic=', async () => {
    await api.put('/v1/topics/Feed', { queues: 2 });
    await api.put('/v1/groups/Reader', { consumeFrom: 'FIRST' });
    for (const q of [0, 0, 1]) await api.post('/v1/topics/Feed/messages', { body: 'x', queueId: q });
    const asked = await api.get('/v1/groups/Reader?topic=Feed');
    expect(asked.json.subscriptions).toHaveLength(1);
    expect(asked.json.subscriptions[0]).toMatchObject({ topic: 'Feed', lag: 3 });
    expect(asked.json.subscriptions[0].queues.map((q: Json) => q.lag)).toEqual([2, 1]);
    const sub = gw.gateway.subscribe('Reader', 'Feed', { clientId: 'c-1', credit: 1 });
    try {
      const live = await api.get('/v1/groups/Reader');
      expect(live.json.consumers).toHaveLength(1);
      expect(live.json.consumers[0]).toMatchObject({ clientId: 'c-1', topic: 'Feed', credit: 1 });
      expect(live.json.subscriptions.map((s: Json) => s.topic)).toEqual(['Feed']);
    } finally {
      sub.close();
    }
  });

  it('refuses bad settings with 400', async () => {
    for (const body of [
      { consumeMode: 'FANOUT' },
      { maxReconsumeTimes: -2 },
      { retryDelayLevels: [] },
      { retryDelayLevels: [99] },
      { colour: 'red' },
    ]) {
      const r = await api.put('/v1/groups/Strict', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
    }
    expect((await api.put('/v1/groups/bad%20name', {})).status).toBe(400);
  });
});

describe('admin - GET /v1/backends', () => {
  it('lists the local backend, up, with every feature native', async () => {
    const r = await api.get('/v1/backends');
    expect(r.status).toBe(200);
    expect(r.json.backends).toHaveLength(1);
    const local = r.json.backends[0];
    expect(local).toMatchObject({ name: 'local', status: 'up', default: true });
    expect(Object.values(local.features).every((s) => s === 'native')).toBe(true);
  });
});
