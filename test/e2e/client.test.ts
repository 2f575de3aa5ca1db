/**
 * The built `mqgate serve` driven through the typed client (`mqgate/client`), REST and
 * WebSocket, as an application uses it: every route and every frame, transaction check-back
 * through a real HTTP callback server and through a WebSocket.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MqgateClient, MqgateClientError, MqgateSocket } from '../../src/client/index.js';
import type { Message, TxCheck } from '../../src/client/index.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { spawnServe } from '../helpers/serve-process.js';
import { until } from '../helpers/broker.js';

let proc: ServeProcess;
let mq: MqgateClient;
let callbacks: http.Server;
let checkUrl: string;
let dataDir: string;
const checks: TxCheck[] = [];

beforeAll(async () => {
  callbacks = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      checks.push(JSON.parse(body) as TxCheck);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ state: 'COMMIT' }));
    });
  });
  await new Promise<void>((r) => callbacks.listen(0, '127.0.0.1', r));
  checkUrl = `http://127.0.0.1:${(callbacks.address() as AddressInfo).port}/check`;
  // not tmpDir(): that one is removed after each test, and this server lives for the file
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-e2e-'));
  proc = await spawnServe(['--data-dir', dataDir], {
    MQGATE_BROKER_DELAY_LEVELS: '100ms 200ms 300ms',
    MQGATE_BROKER_MIN_INVISIBLE_MS: '100',
    MQGATE_BROKER_TRANSACTION_TIMEOUT_MS: '0',
    MQGATE_BROKER_TRANSACTION_CHECK_INTERVAL_MS: '200',
  });
  mq = new MqgateClient({ url: proc.url });
});

afterAll(async () => {
  proc.child.kill('SIGTERM');
  await proc.exited();
  await new Promise((r) => callbacks.close(r));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function receiveAll(group: string, topic: string, n: number): Promise<Message[]> {
  const got: Message[] = [];
  while (got.length < n) {
    const r = await mq.receive(group, { topic, waitSeconds: 5, invisibleSeconds: 30 });
    if (r.messages.length === 0) break;
    got.push(...r.messages);
  }
  return got;
}

describe('the typed REST client against mqgate serve', () => {
  it('admin: topics and groups', async () => {
    await mq.upsertTopic('E2eOrders', { queues: 2 });
    expect(await mq.getTopic('E2eOrders')).toMatchObject({ name: 'E2eOrders', queues: 2, backend: 'local' });
    expect(JSON.stringify(await mq.listTopics())).toContain('E2eOrders');
    await mq.upsertGroup('e2e-billing', {
      consumeFrom: 'FIRST',
      maxReconsumeTimes: 1,
      retryDelayLevels: [1],
    });
    expect(await mq.getGroup('e2e-billing')).toMatchObject({ config: { maxReconsumeTimes: 1 } });
    expect(JSON.stringify(await mq.listGroups())).toContain('e2e-billing');
    expect(JSON.stringify(await mq.backends())).toContain('local');
  });

  it('send, batch, order, receive, ack, change-invisible, query by key and id, pull, offsets', async () => {
    const a = await mq.send('E2eOrders', { body: { n: 1 }, tag: 'A', keys: ['k-1'], shardingKey: 's1' });
    expect(a.status).toBe('SEND_OK');
    const batch = await mq.sendBatch('E2eOrders', [
      { body: 'b1', shardingKey: 's1' },
      { body: 'b2', shardingKey: 's1' },
    ]);
    expect(batch.results.map((r) => r.queueId)).toEqual([a.queueId, a.queueId]);
    const got = await receiveAll('e2e-billing', 'E2eOrders', 3);
    expect(got.map((m) => m.body)).toEqual([{ n: 1 }, 'b1', 'b2']);
    const moved = await mq.changeInvisibleDuration(
      'e2e-billing',
      'E2eOrders',
      got[0]?.receiptHandle as string,
      60,
    );
    await mq.ack('e2e-billing', 'E2eOrders', [
      moved.receiptHandle,
      ...got.slice(1).map((m) => m.receiptHandle as string),
    ]);
    expect((await mq.queryByKey('E2eOrders', 'k-1')).messages.map((m) => m.msgId)).toEqual([a.msgId]);
    expect((await mq.getMessage(a.msgId)).tag).toBe('A');
    const pulled = await mq.pull('E2eOrders', a.queueId, 0, 10);
    expect(pulled.messages).toHaveLength(3);
    await mq.commitOffset('e2e-billing', 'E2eOrders', a.queueId, 1);
    expect(JSON.stringify(await mq.offsets('e2e-billing', 'E2eOrders'))).toContain('"offset":1');
    await mq.resetOffsets('e2e-billing', 'E2eOrders', 'LAST');
  });

  it('async and oneway sends, idempotency keys', async () => {
    const first = await mq.send('E2eOrders', { body: 'once' }, { idempotencyKey: 'key-1' });
    const again = await mq.send('E2eOrders', { body: 'once' }, { idempotencyKey: 'key-1' });
    expect(again.msgId).toBe(first.msgId);
    const accepted = await mq.send('E2eOrders', { body: 'later' }, { mode: 'async' });
    await until(async () => (await mq.getMessage(accepted.msgId).catch(() => undefined)) !== undefined);
    await mq.send('E2eOrders', { body: 'fire and forget' }, { mode: 'oneway' });
  });

  it('delay levels and timed delivery', async () => {
    await mq.upsertGroup('e2e-delay', { consumeFrom: 'FIRST' });
    const sentAt = Date.now();
    await mq.send('E2eDelay', { body: 'level 2', delayLevel: 2 });
    await mq.send('E2eDelay', { body: 'timed', deliverAt: new Date(Date.now() + 300).toISOString() });
    const got = await receiveAll('e2e-delay', 'E2eDelay', 2);
    expect(got.map((m) => m.body).sort()).toEqual(['level 2', 'timed']);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(190);
  });

  it('nack -> retry -> DLQ -> resend', async () => {
    await mq.upsertGroup('e2e-payer', { consumeFrom: 'FIRST', maxReconsumeTimes: 1, retryDelayLevels: [1] });
    const sent = await mq.send('E2ePay', { body: 'fails' });
    for (const expected of ['RETRY', 'DLQ']) {
      const [m] = await receiveAll('e2e-payer', 'E2ePay', 1);
      expect(m?.msgId).toBe(sent.msgId);
      expect((await mq.nack('e2e-payer', 'E2ePay', m?.receiptHandle as string)).outcome).toBe(expected);
    }
    const dlq = await mq.deadLetters('e2e-payer');
    expect(dlq.messages.map((m) => m.body)).toEqual(['fails']);
    expect((await mq.resendDeadLetter('e2e-payer', sent.msgId)).status).toBe('SEND_OK');
    expect((await receiveAll('e2e-payer', 'E2ePay', 1))[0]?.body).toBe('fails');
  });

  it('transactions: commit, rollback, conflict, and check-back through checkUrl', async () => {
    await mq.upsertGroup('e2e-tx', { consumeFrom: 'FIRST' });
    const t1 = await mq.prepare('E2eTx', 'order-service', { body: 'committed' });
    await mq.commit(t1.transactionId);
    const t2 = await mq.prepare('E2eTx', 'order-service', { body: 'rolled back' });
    await mq.rollback(t2.transactionId);
    await expect(mq.commit(t2.transactionId)).rejects.toMatchObject({
      code: 'MQ_ERR_TX_CONFLICT',
      status: 409,
    });
    await mq.prepare('E2eTx', 'order-service', { body: 'checked back' }, checkUrl);
    await until(() => checks.length > 0, 10_000);
    expect(checks[0]).toMatchObject({ producerGroup: 'order-service', topic: 'E2eTx' });
    const got = await receiveAll('e2e-tx', 'E2eTx', 2);
    expect(got.map((m) => m.body).sort()).toEqual(['checked back', 'committed']);
  });

  it('errors carry the server code; an unreachable gateway says what to start', async () => {
    const e = await mq.send('bad topic', { body: 'x' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MqgateClientError);
    expect(e).toMatchObject({ code: 'MQ_ERR_BAD_REQUEST', status: 400 });
    const off = await new MqgateClient({ url: 'http://127.0.0.1:1' }).health().catch((x: unknown) => x);
    expect(off).toMatchObject({ code: 'MQ_ERR_UNREACHABLE' });
  });

  it('deletes a group and a topic', async () => {
    await mq.deleteGroup('e2e-delay');
    await mq.deleteTopic('E2eDelay');
    await expect(mq.getTopic('E2eDelay')).rejects.toMatchObject({ status: 404 });
  });
});

describe('the typed WebSocket client against mqgate serve', () => {
  it('publish, publishBatch, subscribe with credit, ack, nack, unsubscribe', async () => {
    const ws = await MqgateSocket.connect({ url: proc.url });
    await mq.upsertGroup('e2e-push', { consumeFrom: 'FIRST' });
    await ws.publish('E2ePush', { body: 'p0' });
    await ws.publishBatch('E2ePush', [{ body: 'p1' }, { body: 'p2' }, { body: 'p3' }]);
    const got: Message[] = [];
    const sub = await ws.subscribe('e2e-push', 'E2ePush', (m) => got.push(m), { credit: 2 });
    await until(() => got.length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toHaveLength(2); // credit 2: nothing more until a settle
    ws.ack(got[0]?.receiptHandle as string);
    ws.nack(got[1]?.receiptHandle as string, 1);
    sub.credit(10);
    await until(() => got.some((m) => m.body === got[1]?.body && m.deliveryAttempt === 2), 10_000);
    expect(new Set(got.map((m) => m.body))).toEqual(new Set(['p0', 'p1', 'p2', 'p3']));
    for (const m of got.slice(2)) ws.ack(m.receiptHandle as string);
    await sub.unsubscribe();
    await ws.close();
  });

  it('txRegister answers check-backs', async () => {
    const ws = await MqgateSocket.connect({ url: proc.url });
    const seen: TxCheck[] = [];
    await ws.txRegister('ws-producers', (c) => {
      seen.push(c);
      return 'ROLLBACK';
    });
    const t = await mq.prepare('E2eTxWs', 'ws-producers', { body: 'ask me' });
    await until(() => seen.length > 0, 10_000);
    expect(seen[0]?.transactionId).toBe(t.transactionId);
    await until(async () => {
      const r = await mq.commit(t.transactionId).catch((e: unknown) => e);
      return r instanceof MqgateClientError && r.code === 'MQ_ERR_TX_CONFLICT';
    }, 10_000);
    await ws.close();
  });
});
