import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../helpers/broker.js';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { Frame, WsClient } from '../../helpers/ws-client.js';
import { connectWs } from '../../helpers/ws-client.js';

let gw: TestGateway;
const clients: WsClient[] = [];
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gw.stop();
});

async function client(): Promise<WsClient> {
  const c = await connectWs(gw.url);
  clients.push(c);
  return c;
}

/** A topic and a group that starts at the first message (no race with the first take). */
function setup(topic: string, group: string): void {
  gw.gateway.upsertTopic(topic);
  gw.gateway.upsertGroup(group, { consumeFrom: 'FIRST' });
}

async function publish(topic: string, n: number, tag?: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await gw.gateway.send(topic, { body: `${topic}-${i}`, tag })).msgId);
  return ids;
}

const unackedOf = (sub: string): number[] =>
  gw.app.wsApi
    .stats()
    .flatMap((c) => c.subscriptions)
    .filter((s) => s.id === sub)
    .map((s) => s.unacked);

describe('WebSocket subscribe', () => {
  it('streams what REST and WebSocket publishers sent, with receipt handles', async () => {
    setup('CsMixed', 'CsMixedG');
    const c = await client();
    expect(await c.call({ id: 's1', op: 'subscribe', group: 'CsMixedG', topic: 'CsMixed' })).toEqual({
      id: 's1',
      op: 'ok',
    });
    const rest = await fetch(`${gw.url}/v1/topics/CsMixed/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ body: { via: 'rest' }, keys: ['k-rest'] }),
    });
    expect(rest.status).toBe(200);
    const p = await c.call({
      id: 'p',
      op: 'publish',
      topic: 'CsMixed',
      message: { body: 'via ws', tag: 'T' },
    });
    expect(p.op).toBe('result');
    await c.next(() => c.messages('s1').length === 2);
    const bodies = c.messages('s1').map((f: Frame) => f.message.body);
    expect(bodies).toEqual(expect.arrayContaining([{ via: 'rest' }, 'via ws']));
    for (const f of c.messages('s1')) {
      expect(f.message).toMatchObject({ topic: 'CsMixed', deliveryAttempt: 1, backend: 'local' });
      expect(typeof f.message.receiptHandle).toBe('string');
      c.send({ op: 'ack', receiptHandle: f.message.receiptHandle });
    }
  });

  it('keeps at most credit unacked out; an ack or a credit frame lets more come', async () => {
    setup('CsCredit', 'CsCreditG');
    await publish('CsCredit', 10);
    const c = await client();
    await c.call({ id: 'cr', op: 'subscribe', group: 'CsCreditG', topic: 'CsCredit', credit: 3 });
    await c.next(() => c.messages('cr').length === 3);
    await sleep(150);
    expect(c.messages('cr')).toHaveLength(3);
    expect(unackedOf('cr')).toEqual([3]);
    const first = c.messages('cr')[0].message;
    expect(await c.call({ id: 'a', op: 'ack', receiptHandle: first.receiptHandle })).toEqual({
      id: 'a',
      op: 'ok',
    });
    await c.next(() => c.messages('cr').length === 4);
    await sleep(100);
    expect(c.messages('cr')).toHaveLength(4);
    expect(await c.call({ id: 'more', op: 'credit', subscription: 'cr', n: 2 })).toEqual({
      id: 'more',
      op: 'ok',
    });
    await c.next(() => c.messages('cr').length === 6);
    await sleep(100);
    expect(c.messages('cr')).toHaveLength(6);
    expect(unackedOf('cr')).toEqual([5]);
    // the same handle twice, and something that is no handle at all
    const again = await c.call({ id: 'a2', op: 'ack', receiptHandle: first.receiptHandle });
    expect(again).toMatchObject({ id: 'a2', op: 'error', code: 'MQ_ERR_RECEIPT_EXPIRED' });
    const junk = await c.call({ id: 'a3', op: 'ack', receiptHandle: 'not-a-handle' });
    expect(junk).toMatchObject({ id: 'a3', op: 'error', code: 'MQ_ERR_RECEIPT_INVALID' });
    const unknownSub = await c.call({ id: 'c2', op: 'credit', subscription: 'nope', n: 1 });
    expect(unknownSub).toMatchObject({ id: 'c2', op: 'error', code: 'MQ_ERR_SUBSCRIPTION_CLOSED' });
  });

  it('redelivers a nacked message with deliveryAttempt 2', async () => {
    setup('CsNack', 'CsNackG');
    const [msgId] = await publish('CsNack', 1);
    const c = await client();
    await c.call({ id: 'n', op: 'subscribe', group: 'CsNackG', topic: 'CsNack' });
    const first = await c.next((f) => f.op === 'message' && f.subscription === 'n');
    expect(first.message).toMatchObject({ msgId, deliveryAttempt: 1 });
    const r = await c.call({
      id: 'nk',
      op: 'nack',
      receiptHandle: first.message.receiptHandle,
      delayLevel: 1,
    });
    expect(r).toEqual({ id: 'nk', op: 'ok' });
    const second = await c.next(
      (f) => f.op === 'message' && f.subscription === 'n' && f.message.deliveryAttempt === 2,
    );
    expect(second.message).toMatchObject({ msgId, topic: 'CsNack', body: 'CsNack-0', reconsumeTimes: 1 });
    await c.call({ id: 'ack2', op: 'ack', receiptHandle: second.message.receiptHandle });
  });

  it('filters by tag, and unsubscribe stops the stream', async () => {
    setup('CsTag', 'CsTagG');
    const c = await client();
    await c.call({
      id: 't',
      op: 'subscribe',
      group: 'CsTagG',
      topic: 'CsTag',
      filter: { type: 'TAG', expression: 'B' },
    });
    await publish('CsTag', 2, 'A');
    await publish('CsTag', 2, 'B');
    await c.next(() => c.messages('t').length === 2);
    expect(c.messages('t').map((f: Frame) => f.message.tag)).toEqual(['B', 'B']);
    expect(await c.call({ id: 'u', op: 'unsubscribe', subscription: 't' })).toEqual({ id: 'u', op: 'ok' });
    expect(unackedOf('t')).toEqual([]);
    await publish('CsTag', 1, 'B');
    await sleep(150);
    expect(c.messages('t')).toHaveLength(2);
    const twice = await c.call({ id: 'u2', op: 'unsubscribe', subscription: 't' });
    expect(twice).toMatchObject({ op: 'error', code: 'MQ_ERR_SUBSCRIPTION_CLOSED' });
  });

  it('gives the unacked messages of a closed connection to another subscriber of the group', async () => {
    setup('CsHandover', 'CsHandoverG');
    const ids = await publish('CsHandover', 5);
    const c1 = await client();
    await c1.call({ id: 'h1', op: 'subscribe', group: 'CsHandoverG', topic: 'CsHandover', credit: 10 });
    await c1.next(() => c1.messages('h1').length === 5);
    const c2 = await client();
    await c2.call({ id: 'h2', op: 'subscribe', group: 'CsHandoverG', topic: 'CsHandover', credit: 10 });
    await c1.close();
    await c2.next(() => new Set(c2.messages('h2').map((f: Frame) => f.message.msgId)).size === 5);
    expect(new Set(c2.messages('h2').map((f: Frame) => f.message.msgId))).toEqual(new Set(ids));
  });
});
