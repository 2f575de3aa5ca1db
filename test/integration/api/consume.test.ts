import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { Json } from '../../helpers/http.js';
import { apiClient } from '../../helpers/http.js';

let gw: TestGateway;
const api = apiClient(() => gw.url);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  gw = await startGateway({ broker: { autoCreateTopics: false } });
});
afterAll(async () => {
  await gw.stop();
});

let n = 0;
/** A fresh topic and a group that reads it from the first offset, retrying after 20 ms. */
async function fresh(group: Json = {}): Promise<{ topic: string; group: string }> {
  const topic = `T${++n}`;
  expect((await api.put(`/v1/topics/${topic}`, { queues: 2 })).status).toBe(200);
  const g = await api.put(`/v1/groups/G${n}`, { consumeFrom: 'FIRST', retryDelayLevels: [1], ...group });
  expect(g.status).toBe(200);
  return { topic, group: `G${n}` };
}

async function send(topic: string, m: Json): Promise<string> {
  const r = await api.post(`/v1/topics/${topic}/messages`, m);
  expect(r.status).toBe(200);
  return r.json.msgId as string;
}

const receive = (group: string, body: Json, o?: { signal?: AbortSignal }) =>
  api.post(`/v1/groups/${group}/receive`, body, o);

describe('consume - receive', () => {
  it('hands out messages with receipt handle, delivery attempt and invisible time', async () => {
    const { topic, group } = await fresh();
    const id = await send(topic, { body: 'hello', tag: 'A', properties: { region: 'eu' } });
    const r = await receive(group, { topic });
    expect(r.status).toBe(200);
    expect(r.json.messages).toHaveLength(1);
    const m = r.json.messages[0];
    expect(m).toMatchObject({
      msgId: id,
      topic,
      body: 'hello',
      tag: 'A',
      deliveryAttempt: 1,
      backend: 'local',
    });
    expect(m.properties).toEqual({ region: 'eu' });
    expect(typeof m.receiptHandle).toBe('string');
    expect(m.invisibleUntil).toBeGreaterThan(Date.now());
    // invisible to the group now
    expect((await receive(group, { topic })).json.messages).toEqual([]);
  });

  it('filters by tag and by SQL92, and refuses a bad expression with 400', async () => {
    const { topic, group } = await fresh();
    await send(topic, { body: 'a', tag: 'A', properties: { n: '1' } });
    await send(topic, { body: 'b', tag: 'B', properties: { n: '5' } });
    const tag = await receive(group, { topic, filter: { type: 'TAG', expression: 'B' } });
    expect(tag.json.messages.map((m: Json) => m.body)).toEqual(['b']);
    const other = await fresh();
    await send(other.topic, { body: 'a', properties: { n: '1' } });
    await send(other.topic, { body: 'b', properties: { n: '5' } });
    const sql = await receive(other.group, {
      topic: other.topic,
      filter: { type: 'SQL92', expression: 'n > 3' },
    });
    expect(sql.json.messages.map((m: Json) => m.body)).toEqual(['b']);
    const bad = await receive(group, { topic, filter: { type: 'SQL92', expression: 'n >' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('MQ_ERR_FILTER_INVALID');
  });

  it('refuses bad requests: schema limits, unknown topic, broadcasting group', async () => {
    const { topic, group } = await fresh();
    for (const body of [
      { topic, maxMessages: 33 },
      { topic, waitSeconds: 31 },
      { topic, invisibleSeconds: 0 },
      {},
    ]) {
      const r = await receive(group, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error.code).toBe('MQ_ERR_BAD_REQUEST');
    }
    const unknown = await receive(group, { topic: 'Nope' });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('MQ_ERR_TOPIC_NOT_FOUND');
    const b = await fresh({ consumeMode: 'BROADCASTING' });
    const mode = await receive(b.group, { topic: b.topic });
    expect(mode.status).toBe(400);
    expect(mode.json.error.code).toBe('MQ_ERR_GROUP_MODE');
  });
});

describe('consume - long polling', () => {
  it('a waiting receive returns as soon as a message arrives', async () => {
    const { topic, group } = await fresh();
    const started = Date.now();
    const waiting = receive(group, { topic, waitSeconds: 10 });
    await sleep(150);
    const id = await send(topic, { body: 'late' });
    const r = await waiting;
    expect(r.json.messages.map((m: Json) => m.msgId)).toEqual([id]);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('a receive with nothing to take answers an empty list after waitSeconds', async () => {
    const { topic, group } = await fresh();
    const started = Date.now();
    const r = await receive(group, { topic, waitSeconds: 0.2 });
    expect(r.json.messages).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(180);
  });

  it('stops waiting when the client goes away: the next message goes to the next receive', async () => {
    const { topic, group } = await fresh();
    const ac = new AbortController();
    const gone = receive(group, { topic, waitSeconds: 20 }, { signal: ac.signal }).catch((e: unknown) => e);
    await sleep(150);
    ac.abort();
    expect(await gone).toBeInstanceOf(Error);
    await sleep(100);
    // a waiter left behind would take this message (and hide it) the moment it is stored
    const id = await send(topic, { body: 'for the living' });
    await sleep(50);
    const started = Date.now();
    const r = await receive(group, { topic, waitSeconds: 2 });
    expect(r.json.messages.map((m: Json) => m.msgId)).toEqual([id]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(gw.gateway.broker.getGroup(group)?.stats.delivered).toBe(1);
  });
});

describe('consume - ack, nack, invisible-duration', () => {
  it('acks one handle; a second ack is 410, a forged handle 400', async () => {
    const { topic, group } = await fresh();
    await send(topic, { body: 'x' });
    const [m] = (await receive(group, { topic })).json.messages;
    const ok = await api.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: m.receiptHandle });
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ receiptHandle: m.receiptHandle, ok: true });
    const again = await api.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: m.receiptHandle });
    expect(again.status).toBe(410);
    expect(again.json.error.code).toBe('MQ_ERR_RECEIPT_EXPIRED');
    const forged = await api.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: 'forged-handle' });
    expect(forged.status).toBe(400);
    expect(forged.json.error.code).toBe('MQ_ERR_RECEIPT_INVALID');
  });

  it('acks a list of handles with a result per handle', async () => {
    const { topic, group } = await fresh();
    await send(topic, { body: '1' });
    await send(topic, { body: '2' });
    const handles = (await receive(group, { topic })).json.messages.map(
      (m: Json) => m.receiptHandle as string,
    );
    expect(handles).toHaveLength(2);
    const r = await api.post(`/v1/groups/${group}/ack`, {
      topic,
      receiptHandles: [...handles, handles[0], 'bad'],
    });
    expect(r.status).toBe(200);
    expect(r.json.results.map((x: Json) => x.ok)).toEqual([true, true, false, false]);
    expect(r.json.results[2].error.code).toBe('MQ_ERR_RECEIPT_EXPIRED');
    expect(r.json.results[3].error.code).toBe('MQ_ERR_RECEIPT_INVALID');
    for (const body of [{ topic }, { topic, receiptHandle: handles[0], receiptHandles: handles }]) {
      const bad = await api.post(`/v1/groups/${group}/ack`, body);
      expect(bad.status).toBe(400);
    }
  });

  it('nack: the message comes back after the back-off with deliveryAttempt 2', async () => {
    const { topic, group } = await fresh();
    const id = await send(topic, { body: 'again' });
    const [m] = (await receive(group, { topic })).json.messages;
    const r = await api.post(`/v1/groups/${group}/nack`, { topic, receiptHandle: m.receiptHandle });
    expect(r.json).toEqual({ receiptHandle: m.receiptHandle, outcome: 'RETRY' });
    const back = await receive(group, { topic, waitSeconds: 5 });
    expect(back.json.messages.map((x: Json) => [x.msgId, x.deliveryAttempt])).toEqual([[id, 2]]);
    const gone = await api.post(`/v1/groups/${group}/nack`, { topic, receiptHandle: m.receiptHandle });
    expect(gone.status).toBe(410);
  });

  it('nack in an orderly group suspends the queue and answers SUSPENDED', async () => {
    const { topic, group } = await fresh({ orderly: true, suspendMs: 20 });
    await send(topic, { body: 'first', shardingKey: 'k' });
    const [m] = (await receive(group, { topic })).json.messages;
    const r = await api.post(`/v1/groups/${group}/nack`, {
      topic,
      receiptHandle: m.receiptHandle,
      delayLevel: 1,
    });
    expect(r.json.outcome).toBe('SUSPENDED');
    const bad = await api.post(`/v1/groups/${group}/nack`, {
      topic,
      receiptHandle: m.receiptHandle,
      delayLevel: 0,
    });
    expect(bad.status).toBe(400);
  });

  it('invisible-duration answers a new handle; the old one is 410; the message reappears after it', async () => {
    const { topic, group } = await fresh();
    const id = await send(topic, { body: 'slow' });
    const [m] = (await receive(group, { topic, invisibleSeconds: 30 })).json.messages;
    const r = await api.post(`/v1/groups/${group}/invisible-duration`, {
      topic,
      receiptHandle: m.receiptHandle,
      invisibleSeconds: 0.05,
    });
    expect(r.status).toBe(200);
    expect(r.json.receiptHandle).not.toBe(m.receiptHandle);
    expect(r.json.invisibleUntil).toBeLessThan(m.invisibleUntil);
    const old = await api.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: m.receiptHandle });
    expect(old.status).toBe(410);
    const back = await receive(group, { topic, waitSeconds: 5 });
    expect(back.json.messages.map((x: Json) => [x.msgId, x.deliveryAttempt])).toEqual([[id, 2]]);
    const tooLong = await api.post(`/v1/groups/${group}/invisible-duration`, {
      topic,
      receiptHandle: back.json.messages[0].receiptHandle,
      invisibleSeconds: 50_000,
    });
    expect(tooLong.status).toBe(400);
  });
});
