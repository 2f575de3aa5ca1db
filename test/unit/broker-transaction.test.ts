import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, TxCheckRequest, TxState } from '../../src/broker/index.js';
import { openBroker, sleep } from '../helpers/broker.js';
import { tmpDir } from '../helpers/tmp.js';

let broker: Broker | undefined;
afterEach(async () => {
  await broker?.close();
  broker = undefined;
});

/** A broker whose check-back runs only when the test calls checkTransactions(). */
async function open(dataDir = tmpDir('broker'), checkMax = 3): Promise<Broker> {
  const b = await openBroker({
    dataDir,
    transactionTimeoutMs: 0,
    transactionCheckIntervalMs: 3_600_000,
    transactionCheckMax: checkMax,
  });
  b.upsertTopic('T', { queues: 1 });
  b.upsertGroup('G', { consumeFrom: 'FIRST' });
  return b;
}

async function bodies(b: Broker): Promise<string[]> {
  const got = await b.receive('G', { topic: 'T', waitMs: 100 });
  for (const m of got) b.ack('G', 'T', m.receiptHandle);
  return got.map((m) => m.body.toString());
}

describe('transactions', () => {
  it('tx - a half message is invisible to consumers and to pull; commit makes it visible, rollback never', async () => {
    const b = (broker = await open());
    const a = await b.prepare('T', 'PG', { body: 'a' });
    const r = await b.prepare('T', 'PG', { body: 'r' });
    expect(a).toMatchObject({ status: 'SEND_OK', topic: 'T' });
    expect(await bodies(b)).toEqual([]);
    expect((await b.pull('T', 0, 0)).messages).toHaveLength(0);
    await expect(b.receive('G', { topic: 'RMQ_SYS_TRANS_HALF_TOPIC' })).rejects.toMatchObject({
      code: 'MQ_ERR_TOPIC_SYSTEM',
    });
    await expect(b.pull('RMQ_SYS_TRANS_HALF_TOPIC', 0, 0)).rejects.toMatchObject({
      code: 'MQ_ERR_TOPIC_SYSTEM',
    });
    expect(await b.commit(a.transactionId)).toMatchObject({ state: 'COMMIT' });
    expect(await b.rollback(r.transactionId)).toMatchObject({ state: 'ROLLBACK' });
    const got = await b.receive('G', { topic: 'T', waitMs: 500 });
    expect(got.map((m) => [m.body.toString(), m.msgId])).toEqual([['a', a.msgId]]);
    await sleep(50);
    expect(await bodies(b)).toEqual([]);
    expect(b.transactionStats()).toMatchObject({ pending: 0, committed: 1, rolledBack: 1 });
  });

  it('tx - commit and rollback are idempotent; the other way is a conflict; an unknown id is not found', async () => {
    const b = (broker = await open());
    const a = await b.prepare('T', 'PG', { body: 'a' });
    await Promise.all([b.commit(a.transactionId), b.commit(a.transactionId)]);
    await b.commit(a.transactionId);
    await expect(b.rollback(a.transactionId)).rejects.toMatchObject({
      code: 'MQ_ERR_TX_CONFLICT',
      statusCode: 409,
    });
    await expect(b.commit('0'.repeat(32))).rejects.toMatchObject({
      code: 'MQ_ERR_TX_UNKNOWN',
      statusCode: 404,
    });
    await expect(b.commit('nope')).rejects.toMatchObject({ code: 'MQ_ERR_TX_UNKNOWN' });
    // a commit and a rollback at the same time: one wins, the other is a conflict
    const c = await b.prepare('T', 'PG', { body: 'c' });
    const both = await Promise.allSettled([b.rollback(c.transactionId), b.commit(c.transactionId)]);
    expect(both.map((x) => x.status)).toEqual(['fulfilled', 'rejected']);
    expect(both[1]).toMatchObject({ reason: { code: 'MQ_ERR_TX_CONFLICT' } });
    const got = await b.receive('G', { topic: 'T', waitMs: 500 });
    await sleep(50);
    expect([...got, ...(await b.receive('G', { topic: 'T' }))]).toHaveLength(1); // written once
  });

  it('tx - check-back answers COMMIT, ROLLBACK, UNKNOW and failures; past checkMax the message is discarded', async () => {
    const b = (broker = await open(undefined, 2));
    const answers = new Map<string, TxState | 'THROW'>();
    const seen: TxCheckRequest[] = [];
    b.setTransactionChecker((req) => {
      seen.push(req);
      const a = answers.get(req.message.body.toString());
      if (a === 'THROW') return Promise.reject(new Error('producer down'));
      return Promise.resolve(a ?? 'UNKNOW');
    });
    for (const [body, a] of [
      ['c', 'COMMIT_MESSAGE'],
      ['r', 'ROLLBACK_MESSAGE'],
      ['u', 'UNKNOW'],
      ['x', 'THROW'],
    ] as const) {
      await b.prepare('T', 'PG', { body });
      answers.set(body, a);
    }
    await b.checkTransactions();
    expect(seen.map((r) => [r.message.body.toString(), r.producerGroup, r.topic, r.checkTimes])).toEqual([
      ['c', 'PG', 'T', 0],
      ['r', 'PG', 'T', 0],
      ['u', 'PG', 'T', 0],
      ['x', 'PG', 'T', 0],
    ]);
    expect(
      await b.receive('G', { topic: 'T', waitMs: 500 }).then((ms) => ms.map((m) => m.body.toString())),
    ).toEqual(['c']);
    await b.checkTransactions();
    expect(seen.slice(4).map((r) => [r.message.body.toString(), r.checkTimes])).toEqual([
      ['u', 1],
      ['x', 1],
    ]);
    await b.checkTransactions(); // checked twice: both are discarded now, without a third check
    expect(seen).toHaveLength(6);
    expect(b.transactionStats()).toMatchObject({ pending: 0, discarded: 2, checks: 6 });
  });

  it('tx - pending half messages and their check counts survive a restart', async () => {
    const dataDir = tmpDir('broker');
    let b = (broker = await open(dataDir, 5));
    const p = await b.prepare('T', 'PG', { body: 'p' });
    await b.checkTransactions(); // no checker: UNKNOW, count 1
    await b.close();
    broker = b = await open(dataDir, 5);
    expect(b.transactionStats().pending).toBe(1);
    const counts: number[] = [];
    b.setTransactionChecker((req) => {
      counts.push(req.checkTimes);
      return Promise.resolve('UNKNOW');
    });
    await b.checkTransactions();
    expect(counts).toEqual([1]);
    await b.commit(p.transactionId);
    expect((await b.receive('G', { topic: 'T', waitMs: 500 })).map((m) => m.body.toString())).toEqual(['p']);
  });

  it('tx - a commit writes the body as prepared: the sender may reuse its buffer, and old half messages are read back from disk', async () => {
    const b = (broker = await openBroker({
      transactionTimeoutMs: 0,
      transactionCheckIntervalMs: 3_600_000,
      store: { writeChunkSize: 4096 },
    }));
    b.upsertTopic('T', { queues: 1 });
    const buf = Buffer.from('first body');
    const fresh = await b.prepare('T', 'PG', { body: buf });
    buf.write('REUSED'); // the sender's buffer changes before the commit
    const old = await b.prepare('T', 'PG', { body: Buffer.from('old body') });
    const text = await b.prepare('T', 'PG', { body: 'text body' });
    await b.commit(fresh.transactionId); // from memory: the chunk just written
    // many small write rounds: the half message's chunk leaves memory, its body is read from disk
    for (let i = 0; i < 20; i++) await b.send('T', { body: Buffer.alloc(3000, i) });
    await b.commit(old.transactionId);
    await b.commit(text.transactionId);
    const pulled = (await b.pull('T', 0, 0, 32)).messages.filter((m) => m.properties.PGROUP === 'PG');
    expect(pulled.map((m) => [m.body.toString(), m.msgId])).toEqual([
      ['first body', fresh.msgId],
      ['old body', old.msgId],
      ['text body', text.msgId],
    ]);
  });

  it('tx - commits and rollbacks stay resolved across restarts, also when the queues are rebuilt from the log', async () => {
    const dataDir = tmpDir('broker');
    let b = (broker = await open(dataDir));
    const [c, r, p] = [
      await b.prepare('T', 'PG', { body: 'c', keys: ['k'] }),
      await b.prepare('T', 'PG', { body: 'r' }),
      await b.prepare('T', 'PG', { body: 'p' }),
    ];
    await b.commit(c.transactionId);
    await b.rollback(r.transactionId);
    const after = async (): Promise<void> => {
      expect(b.transactionStats().pending).toBe(1);
      await b.commit(c.transactionId); // idempotent
      await expect(b.rollback(c.transactionId)).rejects.toMatchObject({ code: 'MQ_ERR_TX_CONFLICT' });
      await expect(b.commit(r.transactionId)).rejects.toMatchObject({ code: 'MQ_ERR_TX_CONFLICT' });
      const asked: string[] = [];
      b.setTransactionChecker((req) => {
        asked.push(req.message.body.toString());
        return Promise.resolve('UNKNOW');
      });
      await b.checkTransactions();
      expect(asked).toEqual(['p']); // only the pending one is checked
      // the committed message is in its topic once, with its id, keys and the half it resolves
      const pulled = (await b.pull('T', 0, 0)).messages;
      expect(pulled.map((m) => [m.body.toString(), m.msgId, m.keys])).toEqual([['c', c.msgId, ['k']]]);
      expect(pulled[0]?.properties).toMatchObject({ TRAN_PREPARED_QUEUE_OFFSET: '0', PGROUP: 'PG' });
      expect(pulled[0]?.properties).not.toHaveProperty('TRAN_MSG');
    };
    await b.close();
    broker = b = await open(dataDir);
    await after();
    await b.close();
    // lose every ConsumeQueue and the checkpoint (a crash before they were written)
    fs.rmSync(path.join(dataDir, 'consumequeue'), { recursive: true });
    fs.rmSync(path.join(dataDir, 'checkpoint'));
    broker = b = await open(dataDir);
    await after();
    await b.commit(p.transactionId);
    expect((await b.pull('T', 0, 0)).messages.map((m) => m.body.toString())).toEqual(['c', 'p']);
  });
});
