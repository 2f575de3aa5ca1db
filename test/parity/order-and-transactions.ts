/** Parity scenarios on ordering and on half messages (transactions). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Harness } from '../conformance/harness.js';
import { receiveUntil } from '../conformance/receive.js';
import type { Outcome, Scenario } from './scenario.js';
import { bodyIndex, statusOf } from './scenario.js';

const PRODUCERS = 4;
const PER_PRODUCER = 15;

/** Concurrent producers, one sharding key each, into an orderly group: each key's order. */
async function perKeyOrder(h: Harness): Promise<Outcome> {
  const c = h.client;
  const topic = await h.topic('order', 4);
  const group = await h.group('order', { orderly: true }, topic);
  await Promise.all(
    Array.from({ length: PRODUCERS }, async (_, p) => {
      for (let i = 0; i < PER_PRODUCER; i++)
        await c.send(topic, { body: `key-${p}:${i}`, shardingKey: `key-${p}` });
    }),
  );
  const got = await receiveUntil(c, group, topic, PRODUCERS * PER_PRODUCER, { stopWhenIdleMs: 1500 });
  const perKey: Outcome = {};
  const queuesPerKey: Outcome = {};
  for (let p = 0; p < PRODUCERS; p++) {
    const mine = got.filter((m) => String(m.body).startsWith(`key-${p}:`));
    perKey[`key-${p}`] = mine.map((m) => bodyIndex(m.body));
    queuesPerKey[`key-${p}`] = new Set(mine.map((m) => m.queueId)).size;
  }
  return { received: got.length, perKey, queuesPerKey };
}

/** Half messages: invisible until resolved; commit shows, rollback hides, a conflict is 409. */
async function halfMessages(h: Harness): Promise<Outcome> {
  const c = h.client;
  const topic = await h.topic('tx');
  const group = await h.group('tx', {}, topic);
  const yes = await c.prepare(topic, 'pg', { body: 'tx-yes' });
  const no = await c.prepare(topic, 'pg', { body: 'tx-no' });
  const beforeResolution = await receiveUntil(c, group, topic, 2, { timeoutMs: 800 });
  const commit = await c.commit(yes.transactionId);
  const commitAgain = await c.commit(yes.transactionId);
  const rollback = await c.rollback(no.transactionId);
  const commitRolledBack = await statusOf(c.commit(no.transactionId));
  const rollbackCommitted = await statusOf(c.rollback(yes.transactionId));
  const after = await receiveUntil(c, group, topic, 1, { timeoutMs: 10_000 });
  after.push(...(await receiveUntil(c, group, topic, 1, { stopWhenIdleMs: 800 })));
  return {
    visibleBeforeResolution: beforeResolution.map((m) => String(m.body)),
    states: { commit: commit.state, commitAgain: commitAgain.state, rollback: rollback.state },
    conflicts: { commitRolledBack, rollbackCommitted },
    visibleAfterResolution: after.map((m) => String(m.body)),
    committedKeepsItsMsgId: after[0]?.msgId === yes.msgId,
  };
}

/** An unresolved half message is checked back; the checker answers COMMIT and it shows. */
async function checkBack(h: Harness): Promise<Outcome> {
  const c = h.client;
  const topic = await h.topic('txcheck');
  const group = await h.group('txcheck', {}, topic);
  const checks: Record<string, unknown>[] = [];
  const checker = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      checks.push(JSON.parse(text) as Record<string, unknown>);
      res.setHeader('content-type', 'application/json');
      res.end('{"state":"COMMIT"}');
    });
  });
  await new Promise<void>((r) => checker.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(checker.address() as AddressInfo).port}/check`;
    const half = await c.prepare(topic, 'pg', { body: 'checked', tag: 'tx' }, url);
    const got = await receiveUntil(c, group, topic, 1, { timeoutMs: 10_000 });
    const first = checks[0] ?? {};
    return {
      delivered: got.map((m) => String(m.body)),
      deliveredKeepsItsMsgId: got[0]?.msgId === half.msgId,
      checked: checks.length > 0,
      checkNamesTheHalfMessage: first.msgId === half.msgId && first.transactionId === half.transactionId,
      checkNamesTopicAndProducerGroup: first.topic === topic && first.producerGroup === 'pg',
      firstCheckTimes: typeof first.checkTimes === 'number' ? first.checkTimes : null,
    };
  } finally {
    checker.close();
  }
}

export const orderAndTransactionScenarios: Scenario[] = [
  {
    name: 'per-key order',
    what: 'concurrent producers, an orderly group: each key in send order, on one queue',
    needs: [],
    run: perKeyOrder,
  },
  {
    name: 'half messages',
    what: 'invisible until resolved; commit shows, rollback hides, conflicts are 409',
    needs: ['transactions'],
    run: halfMessages,
  },
  {
    name: 'check-back',
    what: 'an unresolved half message is checked back and committed by the answer',
    needs: ['transactions'],
    run: checkBack,
  },
];
