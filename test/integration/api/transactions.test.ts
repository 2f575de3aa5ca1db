import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { CallbackServer, Json, Reply } from '../../helpers/http.js';
import { apiClient, callbackServer } from '../../helpers/http.js';

let gw: TestGateway;
let producer: CallbackServer;
const api = apiClient(() => gw.url);

/** The producer's check-back endpoint: each message's body says how to answer. */
function answer(body: Json): Reply {
  const said = String(body?.message?.body);
  if (said === 'HANG') return 'hang';
  if (said === 'ERROR') return { status: 500, body: { oops: true } };
  return { status: 200, body: { state: said } };
}

beforeAll(async () => {
  gw = await startGateway({
    broker: { autoCreateTopics: false },
    api: { checkTimeoutMs: 300, checkRetries: 0 },
  });
  producer = await callbackServer((r) => answer(r.body));
  for (const t of ['Tx', 'TxCheck']) expect((await api.put(`/v1/topics/${t}`, {})).status).toBe(200);
});
afterAll(async () => {
  await gw.stop();
  await producer.close();
});

async function prepare(topic: string, body: string, checkUrl?: string): Promise<Json> {
  const r = await api.post(`/v1/topics/${topic}/transactions`, {
    producerGroup: 'pg',
    message: { body },
    ...(checkUrl === undefined ? {} : { checkUrl }),
  });
  expect(r.status).toBe(200);
  return r.json;
}

/** Whether a message is visible in its topic's queue (read by offset). */
async function visible(topic: string, queueId: number, msgId: string): Promise<boolean> {
  const r = await api.get(`/v1/topics/${topic}/queues/${queueId}/messages?offset=0&maxMessages=1024`);
  return (r.json.messages as Json[]).some((m) => m.msgId === msgId);
}

describe('transactions - prepare, commit, rollback', () => {
  it('a prepared message is invisible until committed; commit is idempotent, rollback then conflicts', async () => {
    const tx = await prepare('Tx', 'paid');
    expect(tx).toMatchObject({ status: 'SEND_OK', topic: 'Tx' });
    expect(tx.transactionId).toMatch(/^[0-9A-F]{32}$/);
    expect(await visible('Tx', tx.queueId, tx.msgId)).toBe(false);
    const c = await api.post(`/v1/transactions/${tx.transactionId}/commit`, {});
    expect(c.status).toBe(200);
    expect(c.json).toEqual({ transactionId: tx.transactionId, state: 'COMMIT' });
    expect(await visible('Tx', tx.queueId, tx.msgId)).toBe(true);
    expect((await api.post(`/v1/transactions/${tx.transactionId}/commit`, {})).status).toBe(200);
    const r = await api.post(`/v1/transactions/${tx.transactionId}/rollback`, {});
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('MQ_ERR_TX_CONFLICT');
  });

  it('a rolled back message is never delivered, and a later commit is a 409', async () => {
    const tx = await prepare('Tx', 'cancelled');
    expect((await api.post(`/v1/transactions/${tx.transactionId}/rollback`, {})).status).toBe(200);
    const c = await api.post(`/v1/transactions/${tx.transactionId}/commit`, {});
    expect(c.status).toBe(409);
    expect(c.json.error.details).toEqual({ state: 'ROLLBACK' });
    expect(await visible('Tx', tx.queueId, tx.msgId)).toBe(false);
  });

  it('commit takes no body, or an empty JSON body', async () => {
    const a = await prepare('Tx', 'a');
    const res = await fetch(`${gw.url}/v1/transactions/${a.transactionId}/commit`, { method: 'POST' });
    expect(res.status).toBe(200);
    const b = await prepare('Tx', 'b');
    const empty = await api.post(`/v1/transactions/${b.transactionId}/rollback`, '', {
      raw: true,
      headers: { 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(200);
  });

  it('answers 404 MQ_ERR_TX_UNKNOWN for an id with no half message', async () => {
    for (const id of ['0A'.repeat(16), 'not-an-id']) {
      const r = await api.post(`/v1/transactions/${id}/commit`, {});
      expect(r.status).toBe(404);
      expect(r.json.error.code).toBe('MQ_ERR_TX_UNKNOWN');
    }
  });

  it('refuses bad prepares: schema, checkUrl, delayed message, unknown topic', async () => {
    const missing = await api.post('/v1/topics/Tx/transactions', { message: { body: 'x' } });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toContain('producerGroup');
    const ftp = await api.post('/v1/topics/Tx/transactions', {
      producerGroup: 'pg',
      message: { body: 'x' },
      checkUrl: 'ftp://example.com/check',
    });
    expect(ftp.status).toBe(400);
    const delayed = await api.post('/v1/topics/Tx/transactions', {
      producerGroup: 'pg',
      message: { body: 'x', delayLevel: 2 },
    });
    expect(delayed.status).toBe(400);
    expect(delayed.json.error.code).toBe('MQ_ERR_MESSAGE_ILLEGAL');
    const unknown = await api.post('/v1/topics/Nope/transactions', {
      producerGroup: 'pg',
      message: { body: 'x' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('MQ_ERR_TOPIC_NOT_FOUND');
  });
});

describe('transactions - check-back over HTTP', () => {
  it('asks checkUrl and applies COMMIT and ROLLBACK; UNKNOWN, HTTP 500 and a timeout leave it pending', async () => {
    // resolve what earlier tests left pending, so that this pass only checks these five
    await gw.gateway.broker.checkTransactions();
    const url = `${producer.url}/check`;
    const txs: Record<string, Json> = {};
    for (const s of ['COMMIT', 'ROLLBACK', 'UNKNOWN', 'ERROR', 'HANG'])
      txs[s] = await prepare('TxCheck', s, url);
    const before = producer.received.length;
    await gw.gateway.broker.checkTransactions();
    const checks = (await producer.waitFor(before + 5)).slice(before);
    expect(checks.map((c) => c.body.message.body).sort()).toEqual([
      'COMMIT',
      'ERROR',
      'HANG',
      'ROLLBACK',
      'UNKNOWN',
    ]);
    for (const c of checks) {
      expect(c.path).toBe('/check');
      expect(c.body).toMatchObject({ topic: 'TxCheck', producerGroup: 'pg', checkTimes: 0 });
      expect(c.body.transactionId).toBe(c.body.msgId);
      // the check-back URL is the gateway's own business, not a property the producer sees
      expect(Object.keys(c.body.message.properties).filter((k) => k.includes('MQGATE'))).toEqual([]);
    }
    const commit = txs.COMMIT;
    const rollback = txs.ROLLBACK;
    expect(await visible('TxCheck', commit.queueId, commit.msgId)).toBe(true);
    expect((await api.post(`/v1/transactions/${commit.transactionId}/rollback`, {})).status).toBe(409);
    expect(await visible('TxCheck', rollback.queueId, rollback.msgId)).toBe(false);
    expect((await api.post(`/v1/transactions/${rollback.transactionId}/commit`, {})).status).toBe(409);
    // still unresolved: a producer can settle them itself
    for (const s of ['UNKNOWN', 'ERROR', 'HANG']) {
      const r = await api.post(`/v1/transactions/${txs[s].transactionId}/commit`, {});
      expect(r.status, s).toBe(200);
    }
  });
});
