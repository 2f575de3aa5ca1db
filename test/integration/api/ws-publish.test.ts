import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { WsClient } from '../../helpers/ws-client.js';
import { connectWs } from '../../helpers/ws-client.js';

let gw: TestGateway;
let c: WsClient;
beforeAll(async () => {
  gw = await startGateway({ api: { wsMaxPayloadBytes: 128 * 1024 } });
  c = await connectWs(gw.url);
});
afterAll(async () => {
  await c.close();
  await gw.stop();
});

describe('WebSocket publish', () => {
  it('stores a message and answers a result frame with its place', async () => {
    const r = await c.call({
      id: 'p1',
      op: 'publish',
      topic: 'WsOrders',
      message: { body: { n: 1 }, tag: 'A' },
    });
    expect(r).toMatchObject({ id: 'p1', op: 'result', topic: 'WsOrders', status: 'SEND_OK', queueOffset: 0 });
    expect(r.msgId).toMatch(/^[0-9A-F]{32}$/);
    const stored = await gw.gateway.getMessage(r.msgId);
    expect(stored?.tag).toBe('A');
  });

  it('runs pipelined publishes concurrently, each answered once with its id', async () => {
    const n = 2000;
    const from = c.frames.length;
    for (let i = 0; i < n; i++)
      c.send({ id: i, op: 'publish', topic: 'WsPipe', message: { body: `m${i}`, shardingKey: `k${i % 8}` } });
    await c.next(() => c.frames.length - from >= n, 20_000, from);
    const results = c.frames.slice(from);
    expect(results.every((f) => f.op === 'result' && f.status === 'SEND_OK')).toBe(true);
    expect(new Set(results.map((f) => f.id)).size).toBe(n);
    // per queue, offsets are dense: every message stored once
    const perQueue = new Map<number, number[]>();
    for (const f of results) perQueue.set(f.queueId, [...(perQueue.get(f.queueId) ?? []), f.queueOffset]);
    for (const offs of perQueue.values())
      expect([...offs].sort((a, b) => a - b)).toEqual(offs.map((_, i) => i));
  });

  it('publishBatch stores every message in order and answers one frame with their results', async () => {
    const messages = Array.from({ length: 50 }, (_, i) => ({ body: `b${i}`, queueId: 0 }));
    const r = await c.call({ id: 'batch1', op: 'publishBatch', topic: 'WsBatch', messages });
    expect(r.op).toBe('result');
    expect(r.results).toHaveLength(50);
    expect(r.results.map((x: { queueOffset: number }) => x.queueOffset)).toEqual(messages.map((_, i) => i));
    const stored = await gw.gateway.pull('WsBatch', 0, 0, 50);
    expect(stored.messages.map((m) => m.body.toString())).toEqual(messages.map((m) => m.body));
    const delayed = await c.call({
      id: 'batch2',
      op: 'publishBatch',
      topic: 'WsBatch',
      messages: [{ body: 'x', delayLevel: 1 }],
    });
    expect(delayed).toMatchObject({ id: 'batch2', op: 'error', code: 'MQ_ERR_MESSAGE_ILLEGAL' });
  });

  it('answers a bad message with an error frame carrying the id', async () => {
    const publish = (id: string, topic: string, message: unknown) =>
      c.call({ id, op: 'publish', topic, message });
    const r = await publish('bad1', 'WsOrders', { body: 'x', colour: 'red' });
    expect(r).toMatchObject({ id: 'bad1', op: 'error', code: 'MQ_ERR_BAD_REQUEST' });
    expect(r.message).toContain('colour');
    const both = await publish('bad2', 'WsOrders', { body: 'x', bodyBase64: 'eA==' });
    expect(both).toMatchObject({ id: 'bad2', op: 'error', code: 'MQ_ERR_BAD_REQUEST' });
    const topic = await publish('bad3', 'no spaces', { body: 'x' });
    expect(topic).toMatchObject({ id: 'bad3', op: 'error', code: 'MQ_ERR_BAD_REQUEST' });
    expect(topic.message).toContain('/topic');
  });

  it('answers ping with pong', async () => {
    expect(await c.call({ id: 7, op: 'ping' })).toEqual({ id: 7, op: 'pong' });
  });
});

describe('WebSocket bad frames', () => {
  it('answers garbage, unknown ops, missing fields and binary frames, and keeps subscriptions going', async () => {
    gw.gateway.upsertTopic('BfTopic');
    gw.gateway.upsertGroup('BfGroup', { consumeFrom: 'FIRST' });
    const sub = await c.call({ id: 'bf-sub', op: 'subscribe', group: 'BfGroup', topic: 'BfTopic' });
    expect(sub).toEqual({ id: 'bf-sub', op: 'ok' });
    let from = c.frames.length;
    c.send('{"op": "publish", ');
    c.send('[1,2]');
    c.send({ id: 'u1', op: 'teleport' });
    c.send({ id: 'm1', op: 'publish', message: { body: 'x' } });
    c.send({ id: 'a1', op: 'ack' });
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.next(() => c.frames.length - from >= 6, 5000, from);
    const errors = c.frames.slice(from);
    expect(errors.map((f) => f.op)).toEqual(Array(6).fill('error'));
    expect(errors.every((f) => f.code === 'MQ_ERR_BAD_REQUEST')).toBe(true);
    expect(errors[0].message).toContain('not JSON');
    expect(errors[2]).toMatchObject({ id: 'u1' });
    expect(errors[2].message).toContain('unknown op "teleport"');
    expect(errors[3]).toMatchObject({ id: 'm1' });
    expect(errors[3].message).toContain('topic');
    expect(errors[4].message).toContain('receiptHandle');
    expect(errors[5].message).toContain('binary');
    // the connection and its subscription still work
    from = c.frames.length;
    const res = await fetch(`${gw.url}/v1/topics/BfTopic/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ body: 'after the bad frames' }),
    });
    expect(res.status).toBe(200);
    const m = await c.next((f) => f.op === 'message' && f.subscription === 'bf-sub', 5000, from);
    expect(m.message).toMatchObject({ body: 'after the bad frames', topic: 'BfTopic', deliveryAttempt: 1 });
    expect(await c.call({ id: 'bf-ack', op: 'ack', receiptHandle: m.message.receiptHandle })).toEqual({
      id: 'bf-ack',
      op: 'ok',
    });
  });

  it('closes with 1009 only a frame over wsMaxPayloadBytes', async () => {
    const big = await connectWs(gw.url);
    const under = await big.call({
      id: 'u',
      op: 'publish',
      topic: 'WsBig',
      message: { body: 'x'.repeat(60 * 1024) },
    });
    expect(under).toMatchObject({ op: 'result', status: 'SEND_OK' });
    big.send({ id: 'o', op: 'publish', topic: 'WsBig', message: { body: 'x'.repeat(200 * 1024) } });
    expect((await big.closed).code).toBe(1009);
    // other connections are not affected
    expect(await c.call({ id: 'still', op: 'ping' })).toEqual({ id: 'still', op: 'pong' });
  });
});
