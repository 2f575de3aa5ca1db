/**
 * Two gateway instances in one process, each with its own data dir, naming each other in
 * cluster.peers: ids name their owner, and a call reaching the other instance is forwarded to
 * the owner (or answered 421). The topics are local (each instance its own log); the same
 * forwarding serves instances in front of one broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../../src/api/access.js';
import { sleep } from '../../helpers/broker.js';
import { freePorts } from '../../helpers/ports.js';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { CallbackServer, Json } from '../../helpers/http.js';
import { apiClient, callbackServer } from '../../helpers/http.js';
import type { WsClient } from '../../helpers/ws-client.js';
import { connectWs } from '../../helpers/ws-client.js';

const url = (port: number): string => `http://127.0.0.1:${port}`;

let a: TestGateway;
let b: TestGateway;
let downUrl: string;
let producer: CallbackServer;
const sockets: WsClient[] = [];
const apiA = apiClient(() => a.url);
const apiB = apiClient(() => b.url);

beforeAll(async () => {
  const [pa, pb, pDown] = (await freePorts(3)) as [number, number, number];
  downUrl = url(pDown);
  // one peer map for both (an instance ignores its own entry); gw-down never starts
  const peers = { 'gw-a': url(pa), 'gw-b': url(pb), 'gw-down': downUrl };
  a = await startGateway({
    server: { port: pa },
    api: { checkTimeoutMs: 500, checkRetries: 0 },
    // gw-loop: a misconfigured entry that leads back to gw-a itself
    cluster: { instanceId: 'gw-a', peers: { ...peers, 'gw-loop': url(pa) } },
  });
  b = await startGateway({ server: { port: pb }, cluster: { instanceId: 'gw-b', peers } });
  producer = await callbackServer(() => ({ status: 200, body: { state: 'COMMIT' } }));
});
afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close()));
  await Promise.all([a?.stop(), b?.stop(), producer?.close()]);
});

async function socket(on: TestGateway): Promise<WsClient> {
  const s = await connectWs(on.url);
  sockets.push(s);
  return s;
}

/** A topic and a group on A that starts at the first message, with `n` messages sent to A. */
async function onA(topic: string, n = 1): Promise<{ topic: string; group: string }> {
  const group = `${topic}G`;
  expect((await apiA.put(`/v1/groups/${group}`, { consumeFrom: 'FIRST' })).status).toBe(200);
  for (let i = 0; i < n; i++)
    expect((await apiA.post(`/v1/topics/${topic}/messages`, { body: `${topic}-${i}` })).status).toBe(200);
  return { topic, group };
}

async function receiveOnA(
  group: string,
  topic: string,
  invisibleSeconds = 30,
  waitSeconds = 0,
): Promise<Json[]> {
  const r = await apiA.post(`/v1/groups/${group}/receive`, { topic, invisibleSeconds, waitSeconds });
  expect(r.status).toBe(200);
  return r.json.messages as Json[];
}

describe('cluster - ids name their owner', () => {
  it('cluster - /healthz names the instance; transaction ids and receipt handles carry it', async () => {
    expect((await apiA.get('/healthz')).json).toEqual({ status: 'ok', instanceId: 'gw-a' });
    const tx = await apiA.post('/v1/topics/ClIds/transactions', {
      producerGroup: 'pg',
      message: { body: 'x' },
    });
    expect(tx.json.transactionId).toMatch(/^gw-a~[0-9A-F]{32}$/);
    expect(tx.json.transactionId).toBe(`gw-a~${tx.json.msgId}`);
    const { topic, group } = await onA('ClIds');
    const [m] = await receiveOnA(group, topic);
    expect(m.receiptHandle).toMatch(/^gw-a~\d+(\.\d+){4}$/);
    // on its own instance the id works as it was handed out
    expect(
      (await apiA.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: m.receiptHandle })).json,
    ).toEqual({
      receiptHandle: m.receiptHandle,
      ok: true,
    });
    expect((await apiA.post(`/v1/transactions/${tx.json.transactionId}/rollback`)).json).toEqual({
      transactionId: tx.json.transactionId,
      state: 'ROLLBACK',
    });
  });
});

describe('cluster - REST calls reaching the other instance are forwarded to the owner', () => {
  it('cluster - a transaction prepared on A and committed through B is delivered to a consumer of A', async () => {
    const group = 'ClTxG';
    expect((await apiA.put(`/v1/groups/${group}`, { consumeFrom: 'FIRST' })).status).toBe(200);
    const tx = await apiA.post('/v1/topics/ClTx/transactions', {
      producerGroup: 'pg',
      message: { body: 'paid' },
    });
    const gone = await apiA.post('/v1/topics/ClTx/transactions', {
      producerGroup: 'pg',
      message: { body: 'void' },
    });
    expect(await receiveOnA(group, 'ClTx')).toEqual([]);
    const c = await apiB.post(`/v1/transactions/${tx.json.transactionId}/commit`);
    expect(c.status).toBe(200);
    expect(c.json).toEqual({ transactionId: tx.json.transactionId, state: 'COMMIT' });
    const r = await apiB.post(`/v1/transactions/${gone.json.transactionId}/rollback`, {});
    expect(r.json).toEqual({ transactionId: gone.json.transactionId, state: 'ROLLBACK' });
    const got = await receiveOnA(group, 'ClTx', 30, 2);
    expect(got.map((m) => m.body)).toEqual(['paid']);
    // the owner's refusal is the answer, status and body
    const conflict = await apiB.post(`/v1/transactions/${tx.json.transactionId}/rollback`);
    expect(conflict.status).toBe(409);
    expect(conflict.json.error.code).toBe('MQ_ERR_TX_CONFLICT');
    // B has no such transaction in its own log
    const own = await apiB.post(`/v1/transactions/gw-b~${tx.json.msgId}/commit`);
    expect(own.status).toBe(404);
  });

  it('cluster - a receipt handle of a receive on A acked through B does not come back', async () => {
    const { topic, group } = await onA('ClAck');
    const [m] = await receiveOnA(group, topic, 0.3);
    const r = await apiB.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: m.receiptHandle });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ receiptHandle: m.receiptHandle, ok: true });
    await sleep(500);
    expect(await receiveOnA(group, topic)).toEqual([]);
    // acked: a second ack through B is the owner's 410
    const again = await apiB.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: m.receiptHandle });
    expect(again.status).toBe(410);
    expect(again.json.error.code).toBe('MQ_ERR_RECEIPT_EXPIRED');
  });

  it('cluster - nack through B retries on A; invisible-duration through B gives a new handle of A', async () => {
    const { topic, group } = await onA('ClNack', 2);
    const [first, second] = await receiveOnA(group, topic, 30);
    const n = await apiB.post(`/v1/groups/${group}/nack`, {
      topic,
      receiptHandle: first.receiptHandle,
      delayLevel: 1,
    });
    expect(n.status).toBe(200);
    expect(n.json).toEqual({ receiptHandle: first.receiptHandle, outcome: 'RETRY' });
    const [retried] = await receiveOnA(group, topic, 30, 5);
    expect(retried).toMatchObject({ msgId: first.msgId, deliveryAttempt: 2 });
    expect(retried.receiptHandle).toMatch(/^gw-a~/);

    const v = await apiB.post(`/v1/groups/${group}/invisible-duration`, {
      topic,
      receiptHandle: second.receiptHandle,
      invisibleSeconds: 0.2,
    });
    expect(v.status).toBe(200);
    expect(v.json.receiptHandle).toMatch(/^gw-a~/);
    expect(v.json.receiptHandle).not.toBe(second.receiptHandle);
    const stale = await apiB.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: second.receiptHandle });
    expect(stale.status).toBe(410);
    await sleep(300);
    const [back] = await receiveOnA(group, topic, 30, 2);
    expect(back).toMatchObject({ msgId: second.msgId, deliveryAttempt: 2 });
  });

  it('cluster - the receiptHandles list is split by owner, each result in the order given', async () => {
    const { topic, group } = await onA('ClList', 1);
    const [ofA] = await receiveOnA(group, topic);
    expect((await apiB.put(`/v1/groups/${group}`, { consumeFrom: 'FIRST' })).status).toBe(200);
    expect((await apiB.post(`/v1/topics/${topic}/messages`, { body: 'on b' })).status).toBe(200);
    const ofB = (await apiB.post(`/v1/groups/${group}/receive`, { topic })).json.messages[0];
    expect(ofB.receiptHandle).toMatch(/^gw-b~/);
    const handles = [ofB.receiptHandle, 'gw-z~1.2.3.4.5', ofA.receiptHandle, 'gw-a~9.9.9.9.9'];
    const r = await apiB.post(`/v1/groups/${group}/ack`, { topic, receiptHandles: handles });
    expect(r.status).toBe(200);
    const results = r.json.results as Json[];
    expect(results.map((x) => x.receiptHandle)).toEqual(handles);
    expect(results.map((x) => x.ok)).toEqual([true, false, true, false]);
    expect(results[1].error.code).toBe('MQ_ERR_NOT_OWNER');
    expect(results[3].error.code).toBe('MQ_ERR_RECEIPT_INVALID');
  });
});

describe('cluster - 421 MQ_ERR_NOT_OWNER', () => {
  it('cluster - a handle naming an unknown instance is 421 naming it', async () => {
    const r = await apiB.post('/v1/groups/G/ack', { topic: 'T', receiptHandle: 'gw-z~1.2.3.4.5' });
    expect(r.status).toBe(421);
    expect(r.json.error).toMatchObject({ code: 'MQ_ERR_NOT_OWNER', details: { owner: 'gw-z' } });
    expect(r.json.error.message).toContain('"gw-z"');
    const nack = await apiB.post('/v1/groups/G/nack', { topic: 'T', receiptHandle: 'gw-z~1' });
    expect(nack.status).toBe(421);
    const body = { topic: 'T', receiptHandle: 'gw-z~1', invisibleSeconds: 1 };
    expect((await apiB.post('/v1/groups/G/invisible-duration', body)).status).toBe(421);
  });

  it('cluster - a peer that is down is 421 at once, with its URL', async () => {
    const started = Date.now();
    const r = await apiB.post(`/v1/transactions/gw-down~${'A'.repeat(32)}/commit`);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(r.status).toBe(421);
    expect(r.json.error).toMatchObject({
      code: 'MQ_ERR_NOT_OWNER',
      details: { owner: 'gw-down', url: downUrl },
    });
    expect(r.json.error.message).toContain('unreachable');
  });

  it('cluster - a forwarded request is never forwarded again, and a loop ends in 421', async () => {
    const { topic, group } = await onA('ClTwice');
    const [m] = await receiveOnA(group, topic);
    const r = await apiB.post(
      `/v1/groups/${group}/ack`,
      { topic, receiptHandle: m.receiptHandle },
      { headers: { 'mqgate-forwarded-by': 'gw-c' } },
    );
    expect(r.status).toBe(421);
    expect(r.json.error.message).toContain('not forwarded twice');
    // nothing was done on A: the handle still acks there
    expect(
      (await apiA.post(`/v1/groups/${group}/ack`, { topic, receiptHandle: m.receiptHandle })).status,
    ).toBe(200);
    // gw-loop leads back to A: the forwarded copy is refused there, not passed on again
    const loop = await apiA.post(`/v1/transactions/gw-loop~${'B'.repeat(32)}/commit`);
    expect(loop.status).toBe(421);
    expect(loop.json.error.message).toContain('forwarded here by "gw-a" already');
  });
});

describe('cluster - WebSocket frames naming the other instance', () => {
  it("cluster - B's socket acks a handle of a receive on A; without group and topic it cannot", async () => {
    const { topic, group } = await onA('ClWsAck');
    const [m] = await receiveOnA(group, topic, 0.3);
    const ws = await socket(b);
    const bare = await ws.call({ id: 'bare', op: 'ack', receiptHandle: m.receiptHandle });
    expect(bare).toMatchObject({ op: 'error', code: 'MQ_ERR_BAD_REQUEST' });
    expect(bare.message).toContain('"gw-a"');
    expect(await ws.call({ id: 'ack', op: 'ack', receiptHandle: m.receiptHandle, group, topic })).toEqual({
      id: 'ack',
      op: 'ok',
    });
    await sleep(500);
    expect(await receiveOnA(group, topic)).toEqual([]);
    const unknown = await ws.call({ id: 'z', op: 'nack', receiptHandle: 'gw-z~1', group, topic });
    expect(unknown).toMatchObject({ op: 'error', code: 'MQ_ERR_NOT_OWNER', details: { owner: 'gw-z' } });
    // the connection lives on
    expect(await ws.call({ id: 'p', op: 'ping' })).toEqual({ id: 'p', op: 'pong' });
  });

  it("cluster - A's socket acks a handle of a receive on A when the frame names group and topic", async () => {
    const { topic, group } = await onA('ClWsOwn');
    const [m] = await receiveOnA(group, topic, 0.3);
    const ws = await socket(a);
    const bare = await ws.call({ id: 'bare', op: 'ack', receiptHandle: m.receiptHandle });
    expect(bare).toMatchObject({ op: 'error', code: 'MQ_ERR_RECEIPT_EXPIRED' });
    expect(await ws.call({ id: 'ack', op: 'ack', receiptHandle: m.receiptHandle, group, topic })).toEqual({
      id: 'ack',
      op: 'ok',
    });
    await sleep(500);
    expect(await receiveOnA(group, topic)).toEqual([]);
  });

  it("cluster - pushes on A carry A's handles, acked on A's socket; B's socket nacks one into a retry", async () => {
    const { topic, group } = await onA('ClWsPush', 2);
    const wa = await socket(a);
    expect((await wa.call({ id: 's', op: 'subscribe', group, topic })).op).toBe('ok');
    await wa.next(() => wa.messages('s').length === 2);
    const [one, two] = wa.messages('s').map((f: Json) => f.message);
    expect(one.receiptHandle).toMatch(/^gw-a~/);
    expect(await wa.call({ id: 'a1', op: 'ack', receiptHandle: one.receiptHandle })).toEqual({
      id: 'a1',
      op: 'ok',
    });
    const wb = await socket(b);
    const n = await wb.call({
      id: 'n',
      op: 'nack',
      receiptHandle: two.receiptHandle,
      group,
      topic,
      delayLevel: 1,
    });
    expect(n).toEqual({ id: 'n', op: 'ok' });
    const again = await wa.next(
      (f) => f.op === 'message' && f.message.msgId === two.msgId && f.message.deliveryAttempt === 2,
    );
    expect(again.message.receiptHandle).toMatch(/^gw-a~/);
  });

  it("cluster - txCheck frames carry the owner; txResolve on B's socket commits A's transaction", async () => {
    const group = 'ClWsTxG';
    expect((await apiA.put(`/v1/groups/${group}`, { consumeFrom: 'FIRST' })).status).toBe(200);
    const wa = await socket(a);
    expect((await wa.call({ id: 'r', op: 'txRegister', producerGroup: 'ClWsTxPg' })).op).toBe('ok');
    const checked = await apiA.post('/v1/topics/ClWsTx/transactions', {
      producerGroup: 'ClWsTxPg',
      message: { body: 'checked' },
    });
    const checking = a.gateway.broker.checkTransactions();
    const check = await wa.next((f) => f.op === 'txCheck' && f.transactionId === checked.json.transactionId);
    expect(check.transactionId).toMatch(/^gw-a~/);
    wa.send({ op: 'txResolve', checkId: check.checkId, transactionId: check.transactionId, state: 'COMMIT' });
    await checking;

    const tx = await apiA.post('/v1/topics/ClWsTx/transactions', {
      producerGroup: 'other',
      message: { body: 'remote' },
    });
    const wb = await socket(b);
    const done = await wb.call({
      id: 't',
      op: 'txResolve',
      transactionId: tx.json.transactionId,
      state: 'COMMIT',
    });
    expect(done).toEqual({ id: 't', op: 'ok' });
    const got = await receiveOnA(group, 'ClWsTx', 30, 2);
    await sleep(100);
    const more = await receiveOnA(group, 'ClWsTx');
    expect([...got, ...more].map((m) => m.body).sort()).toEqual(['checked', 'remote']);
  });

  it('cluster - the HTTP check-back names the owner in the transaction id', async () => {
    const tx = await apiA.post('/v1/topics/ClHttpTx/transactions', {
      producerGroup: 'ClHttpPg',
      message: { body: 'called back' },
      checkUrl: producer.url,
    });
    await a.gateway.broker.checkTransactions();
    const [call] = await producer.waitFor(1);
    expect(call?.body.transactionId).toBe(tx.json.transactionId);
    expect(call?.body.transactionId).toMatch(/^gw-a~/);
  });
});

describe('cluster - with access control on', () => {
  const CONSUMER = 'cluster-consumer-key-01';
  let c: TestGateway;
  let d: TestGateway;
  beforeAll(async () => {
    const [pc, pd] = (await freePorts(2)) as [number, number];
    const peers = { 'gw-c': url(pc), 'gw-d': url(pd) };
    const auth = {
      keys: [
        { name: 'ops', keyHash: hashKey('cluster-admin-key-0001'), admin: true },
        { name: 'consumer', key: CONSUMER, topics: { ClAuth: 'SUB' }, groups: { ClAuthG: 'SUB' } },
      ],
    };
    c = await startGateway({ server: { port: pc }, auth, cluster: { instanceId: 'gw-c', peers } });
    d = await startGateway({ server: { port: pd }, auth, cluster: { instanceId: 'gw-d', peers } });
  });
  afterAll(async () => {
    await Promise.all([c?.stop(), d?.stop()]);
  });

  it("cluster - the caller's key goes along: the owner checks it again", async () => {
    const admin = { authorization: 'Bearer cluster-admin-key-0001' };
    const apiC = apiClient(() => c.url);
    const apiD = apiClient(() => d.url);
    expect((await apiC.put('/v1/groups/ClAuthG', { consumeFrom: 'FIRST' }, { headers: admin })).status).toBe(
      200,
    );
    expect((await apiC.post('/v1/topics/ClAuth/messages', { body: 'x' }, { headers: admin })).status).toBe(
      200,
    );
    const consumer = { authorization: `Bearer ${CONSUMER}` };
    const got = await apiC.post('/v1/groups/ClAuthG/receive', { topic: 'ClAuth' }, { headers: consumer });
    const handle = got.json.messages[0].receiptHandle as string;
    expect(handle).toMatch(/^gw-c~/);
    const body = { topic: 'ClAuth', receiptHandle: handle };
    expect((await apiD.post('/v1/groups/ClAuthG/ack', body)).status).toBe(401);
    const r = await apiD.post('/v1/groups/ClAuthG/ack', body, { headers: consumer });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ receiptHandle: handle, ok: true });
  });
});
