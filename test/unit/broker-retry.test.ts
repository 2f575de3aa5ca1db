import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, ReceivedMessage } from '../../src/broker/index.js';
import { openBroker, until } from '../helpers/broker.js';

let broker: Broker;
afterEach(async () => {
  await broker?.close();
});

/** Test delay levels: level N = N * 20 ms. */
const levelMs = (n: number): number => n * 20;

async function next(group: string, topic: string): Promise<ReceivedMessage> {
  const [m] = await broker.receive(group, { topic, waitMs: 3000, invisibleMs: 5000 });
  if (m === undefined) throw new Error('no message within 3 s');
  return m;
}

describe('retry', () => {
  it('retry - nacks come back on the back-off schedule (level 3 + reconsumeTimes) and then go to the DLQ', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 2 });
    broker.upsertGroup('G', { consumeFrom: 'FIRST', maxReconsumeTimes: 3 });
    const sent = await broker.send('T', { body: 'fails', keys: ['k1'], tag: 'TagA' });
    const waits: number[] = [];
    const seen: ReceivedMessage[] = [];
    let nackedAt = 0;
    for (let i = 0; i < 4; i++) {
      const m = await next('G', 'T');
      if (i > 0) waits.push(Date.now() - nackedAt);
      seen.push(m);
      // the back-off runs from when the retry is stored, during the nack: time it from the call
      const calledAt = Date.now();
      expect(await broker.nack('G', 'T', m.receiptHandle)).toBe(i < 3 ? 'RETRY' : 'DLQ');
      nackedAt = calledAt;
    }
    expect(seen.map((m) => m.deliveryAttempt)).toEqual([1, 2, 3, 4]);
    expect(seen.every((m) => m.msgId === sent.msgId && m.topic === 'T')).toBe(true);
    // each wait at least its level, and not grossly late
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual(levelMs(3 + i) - 2);
      expect(w).toBeLessThan(levelMs(3 + i) + 500);
    });
    const retry = seen[1] as ReceivedMessage;
    expect(retry.storeTopic).toBe('%RETRY%G');
    expect(retry.properties).toMatchObject({
      RETRY_TOPIC: 'T',
      ORIGIN_MESSAGE_ID: sent.msgId,
      RECONSUME_TIME: '1',
    });
    expect(retry.tag).toBe('TagA');
    expect(seen[3]?.properties.RECONSUME_TIME).toBe('3');
    const dlq = await broker.deadLetters('G');
    expect(dlq).toHaveLength(1);
    expect(dlq[0]).toMatchObject({ msgId: sent.msgId, topic: '%DLQ%G', reconsumeTimes: 3 });
    expect(dlq[0]?.properties).toMatchObject({ DLQ_ORIGIN_TOPIC: 'T', DLQ_ORIGIN_MESSAGE_ID: sent.msgId });
    expect(await broker.receive('G', { topic: 'T', waitMs: 200 })).toHaveLength(0);
    expect(broker.getGroup('G')).toMatchObject({ dlqMessages: 1, stats: { retried: 3, deadLettered: 1 } });
  });

  it('retry - a group policy and a nack delay level choose the back-off', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 1 });
    broker.upsertGroup('G', { consumeFrom: 'FIRST', retryDelayLevels: [1, 10] });
    await broker.send('T', { body: 'x' });
    let m = await next('G', 'T');
    let t = Date.now();
    await broker.nack('G', 'T', m.receiptHandle);
    m = await next('G', 'T');
    expect(Date.now() - t).toBeLessThan(levelMs(10));
    t = Date.now();
    await broker.nack('G', 'T', m.receiptHandle);
    m = await next('G', 'T');
    expect(Date.now() - t).toBeGreaterThanOrEqual(levelMs(10) - 2);
    t = Date.now();
    await broker.nack('G', 'T', m.receiptHandle, { delayLevel: 15 });
    m = await next('G', 'T');
    expect(Date.now() - t).toBeGreaterThanOrEqual(levelMs(15) - 2);
    await expect(broker.nack('G', 'T', m.receiptHandle, { delayLevel: 19 })).rejects.toMatchObject({
      code: 'MQ_ERR_DELAY_LEVEL_INVALID',
    });
  });

  it('retry - a message whose invisible time passes without an ack is retried, then dead-lettered', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 1 });
    broker.upsertGroup('G', { consumeFrom: 'FIRST', maxReconsumeTimes: 1 });
    await broker.send('T', { body: 'slow' });
    const [a] = await broker.receive('G', { topic: 'T', invisibleMs: 30 });
    const [b] = await broker.receive('G', { topic: 'T', invisibleMs: 30, waitMs: 2000 });
    expect([a?.deliveryAttempt, b?.deliveryAttempt]).toEqual([1, 2]);
    await until(() => (broker.getGroup('G')?.dlqMessages ?? 0) === 1);
  });

  it("retry - a group consuming two topics gets each topic's retries only on that topic", async () => {
    broker = await openBroker();
    broker.upsertTopic('A', { queues: 1 });
    broker.upsertTopic('B', { queues: 1 });
    broker.upsertGroup('G', { consumeFrom: 'FIRST' });
    await broker.send('A', { body: 'a' });
    await broker.send('B', { body: 'b' });
    const a = await next('G', 'A');
    const b = await next('G', 'B');
    await broker.nack('G', 'A', a.receiptHandle, { delayLevel: 1 });
    await broker.nack('G', 'B', b.receiptHandle, { delayLevel: 1 });
    const a2 = await next('G', 'A');
    const b2 = await next('G', 'B');
    expect([a2.body.toString(), a2.topic, a2.deliveryAttempt]).toEqual(['a', 'A', 2]);
    expect([b2.body.toString(), b2.topic, b2.deliveryAttempt]).toEqual(['b', 'B', 2]);
  });

  it('retry - push consumers get their retries through the retry queue', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 2 });
    const sub = broker.subscribe('G', 'T');
    await broker.send('T', { body: 'x' });
    const attempts: number[] = [];
    for await (const d of sub) {
      attempts.push(d.message.deliveryAttempt);
      if (attempts.length < 3) await d.nack({ delayLevel: 1 });
      else {
        d.ack();
        break;
      }
    }
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('dlq - resend puts a dead letter back on its topic with a fresh reconsume count', async () => {
    broker = await openBroker();
    broker.upsertTopic('T', { queues: 1 });
    broker.upsertGroup('G', { consumeFrom: 'FIRST', maxReconsumeTimes: 0 });
    const sent = await broker.send('T', { body: 'poison', keys: ['k'] });
    const m = await next('G', 'T');
    expect(await broker.nack('G', 'T', m.receiptHandle)).toBe('DLQ');
    await expect(broker.resendDeadLetter('G', '0'.repeat(32))).rejects.toMatchObject({
      code: 'MQ_ERR_MSG_NOT_FOUND',
    });
    const r = await broker.resendDeadLetter('G', sent.msgId);
    expect(r).toMatchObject({ status: 'SEND_OK', topic: 'T', msgId: sent.msgId });
    const back = await next('G', 'T');
    expect(back.body.toString()).toBe('poison');
    expect(back.deliveryAttempt).toBe(1);
    expect(back.reconsumeTimes).toBe(0);
    expect(back.properties.DLQ_ORIGIN_TOPIC).toBeUndefined();
    expect(back.keys).toEqual(['k']);
  });
});
