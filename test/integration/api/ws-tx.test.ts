import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../helpers/broker.js';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { WsClient } from '../../helpers/ws-client.js';
import { connectWs } from '../../helpers/ws-client.js';

let gw: TestGateway;
let producer: WsClient;
let consumer: WsClient;
beforeAll(async () => {
  gw = await startGateway({ api: { checkTimeoutMs: 300 } });
  gw.gateway.upsertTopic('TxTopic');
  gw.gateway.upsertGroup('TxConsumers', { consumeFrom: 'FIRST' });
  producer = await connectWs(gw.url);
  consumer = await connectWs(gw.url);
  await consumer.call({ id: 'sub', op: 'subscribe', group: 'TxConsumers', topic: 'TxTopic' });
});
afterAll(async () => {
  await producer.close();
  await consumer.close();
  await gw.stop();
});

describe('WebSocket transaction check-back', () => {
  it('sends txCheck to a registered producer; its COMMIT makes the message deliverable', async () => {
    expect(await producer.call({ id: 'reg', op: 'txRegister', producerGroup: 'TxProducers' })).toEqual({
      id: 'reg',
      op: 'ok',
    });
    expect(gw.gateway.txChecks.registered('TxProducers')).toBe(1);
    const tx = await gw.gateway.prepare('TxTopic', 'TxProducers', { body: 'to commit', keys: ['order-1'] });
    const checking = gw.gateway.broker.checkTransactions();
    const check = await producer.next((f) => f.op === 'txCheck' && f.transactionId === tx.transactionId);
    expect(check).toMatchObject({
      msgId: tx.msgId,
      topic: 'TxTopic',
      producerGroup: 'TxProducers',
      checkTimes: 0,
    });
    expect(check.message).toMatchObject({ body: 'to commit', keys: ['order-1'] });
    expect(typeof check.checkId).toBe('number');
    await sleep(50);
    expect(consumer.messages('sub')).toHaveLength(0);
    producer.send({
      op: 'txResolve',
      checkId: check.checkId,
      transactionId: tx.transactionId,
      state: 'COMMIT',
    });
    await checking;
    const m = await consumer.next((f) => f.op === 'message' && f.message.msgId === tx.msgId);
    expect(m.message).toMatchObject({ body: 'to commit', topic: 'TxTopic' });
    consumer.send({ op: 'ack', receiptHandle: m.message.receiptHandle });
  });

  it('takes a ROLLBACK matched by transactionId alone: the message is never delivered', async () => {
    const tx = await gw.gateway.prepare('TxTopic', 'TxProducers', { body: 'to roll back' });
    const checking = gw.gateway.broker.checkTransactions();
    await producer.next((f) => f.op === 'txCheck' && f.transactionId === tx.transactionId);
    const r = await producer.call({
      id: 'rb',
      op: 'txResolve',
      transactionId: tx.transactionId,
      state: 'ROLLBACK',
    });
    expect(r).toEqual({ id: 'rb', op: 'ok' });
    await checking;
    await sleep(100);
    expect(consumer.messages('sub').some((f) => f.message.msgId === tx.msgId)).toBe(false);
    const stats = gw.gateway.transactionStats();
    expect(stats).toMatchObject({ rolledBack: 1 });
  });

  it('counts an unanswered check as UNKNOWN after the timeout; a late answer is refused', async () => {
    const tx = await gw.gateway.prepare('TxTopic', 'TxProducers', { body: 'undecided' });
    const t0 = Date.now();
    const checking = gw.gateway.broker.checkTransactions();
    await producer.next((f) => f.op === 'txCheck' && f.transactionId === tx.transactionId);
    await checking;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(gw.app.wsApi.stats().find((c) => c.txGroups.includes('TxProducers'))?.txPending).toBe(0);
    const late = await producer.call({
      id: 'late',
      op: 'txResolve',
      transactionId: tx.transactionId,
      state: 'COMMIT',
    });
    expect(late).toMatchObject({ id: 'late', op: 'error', code: 'MQ_ERR_TX_UNKNOWN' });
    // still pending: the next pass asks again (checkTimes 1), and the answer now counts
    const again = gw.gateway.broker.checkTransactions();
    const check = await producer.next(
      (f) => f.op === 'txCheck' && f.transactionId === tx.transactionId && f.checkTimes === 1,
    );
    producer.send({
      op: 'txResolve',
      checkId: check.checkId,
      transactionId: tx.transactionId,
      state: 'COMMIT',
    });
    await again;
    await consumer.next((f) => f.op === 'message' && f.message.msgId === tx.msgId);
  });

  it('unregisters the producer group when its connection closes', async () => {
    const other = await connectWs(gw.url);
    await other.call({ id: 'r', op: 'txRegister', producerGroup: 'TxOthers' });
    expect(gw.gateway.txChecks.registered('TxOthers')).toBe(1);
    await other.close();
    await sleep(20);
    expect(gw.gateway.txChecks.registered('TxOthers')).toBe(0);
  });
});
