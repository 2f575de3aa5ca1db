import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { Json } from '../../helpers/http.js';
import { apiClient } from '../../helpers/http.js';

let gw: TestGateway;
const api = apiClient(() => gw.url);

beforeAll(async () => {
  gw = await startGateway({ broker: { autoCreateTopics: false } });
  await api.put('/v1/topics/Work', { queues: 1 });
  // one retry 20 ms after the first failure, then the DLQ
  await api.put('/v1/groups/Workers', { consumeFrom: 'FIRST', maxReconsumeTimes: 1, retryDelayLevels: [1] });
});
afterAll(async () => {
  await gw.stop();
});

async function receiveOne(): Promise<Json> {
  const r = await api.post('/v1/groups/Workers/receive', { topic: 'Work', maxMessages: 1, waitSeconds: 5 });
  expect(r.json.messages).toHaveLength(1);
  return r.json.messages[0];
}

async function nack(m: Json): Promise<string> {
  const r = await api.post('/v1/groups/Workers/nack', { topic: 'Work', receiptHandle: m.receiptHandle });
  expect(r.status).toBe(200);
  return r.json.outcome as string;
}

describe('dlq - nacks past maxReconsumeTimes, list, resend', () => {
  it('moves a message to the DLQ after its retries, lists it, and resends it to its topic', async () => {
    const sent = await api.post('/v1/topics/Work/messages', { body: 'poison', keys: ['p-1'] });
    const id = sent.json.msgId as string;
    const first = await receiveOne();
    expect(await nack(first)).toBe('RETRY');
    const second = await receiveOne();
    expect([second.msgId, second.deliveryAttempt]).toEqual([id, 2]);
    expect(await nack(second)).toBe('DLQ');

    const dlq = await api.get('/v1/groups/Workers/dlq');
    expect(dlq.status).toBe(200);
    expect(dlq.json.messages).toHaveLength(1);
    expect(dlq.json.messages[0]).toMatchObject({ msgId: id, body: 'poison', keys: ['p-1'] });
    expect(dlq.json.messages[0].properties).toMatchObject({
      DLQ_ORIGIN_TOPIC: 'Work',
      DLQ_ORIGIN_MESSAGE_ID: id,
    });
    expect(dlq.json.nextOffset).toBe(1);
    expect((await api.get('/v1/groups/Workers/dlq?offset=1')).json).toEqual({ messages: [], nextOffset: 1 });
    expect((await api.get('/v1/groups/Workers')).json).toMatchObject({
      dlqMessages: 1,
      stats: { deadLettered: 1 },
    });

    const resent = await api.post(`/v1/groups/Workers/dlq/${id}/resend`, {});
    expect(resent.status).toBe(200);
    expect(resent.json).toMatchObject({ topic: 'Work', status: 'SEND_OK' });
    const back = await receiveOne();
    expect(back).toMatchObject({ msgId: id, body: 'poison', reconsumeTimes: 0 });
  });

  it('resend takes no body at all; unknown ids are 404 and malformed ones 400', async () => {
    const unknown = await fetch(`${gw.url}/v1/groups/Workers/dlq/${'CD'.repeat(16)}/resend`, {
      method: 'POST',
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as Json).error.code).toBe('MQ_ERR_MSG_NOT_FOUND');
    expect((await api.post('/v1/groups/Workers/dlq/nope/resend', {})).status).toBe(400);
    expect((await api.get('/v1/groups/Workers/dlq?maxMessages=0')).status).toBe(400);
  });
});
