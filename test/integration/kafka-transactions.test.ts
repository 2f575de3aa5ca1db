/**
 * Transactional commits on Kafka (routes with `transactionalCommit`): a commit writes the message
 * and its mark in one Kafka transaction. Shown against the test bed's Kafka: through the gateway
 * (commit and rollback, the mark beside the message; commits around a kill -9 of the gateway,
 * each sent once); a commit repeated after a gateway restart
 * is found and not sent again; kafkajs's known transaction failures are retried: a transaction
 * left open by a gateway that died (its successor's start aborts it), fencing by another producer
 * with the same transactional id, transactions back to back (CONCURRENT_TRANSACTIONS); many
 * concurrent commits share few Kafka transactions. Every check reads the topics read_committed.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { KafkaAdapter } from '../../adapters/kafka/kafka-adapter.js';
import { commitMarksTopicOf } from '../../adapters/kafka/names.js';
import type { OutboundMessage } from '../../adapters/index.js';
import type { Running } from '../../src/cli/serve.js';
import { startServer } from '../../src/cli/serve.js';
import { MqgateClient } from '../../src/client/index.js';
import { validateConfig } from '../../src/config/load.js';
import { newMsgId } from '../../src/message/msg-id.js';
import type { ServeProcess } from '../helpers/serve-process.js';
import { spawnServe } from '../helpers/serve-process.js';
import { brokerAddress, uniqueName } from './brokers.js';

const brokers = () => brokerAddress('kafka').split(',');
const adapters: KafkaAdapter[] = [];
const dirs: string[] = [];

/** Lines kafkajs logged about CONCURRENT_TRANSACTIONS (it retries those a few times by itself). */
let concurrentTransactions = 0;
const logger = pino(
  { level: 'warn' },
  {
    write: (line: string) => {
      if (line.includes('concurrent operation on the same transaction')) concurrentTransactions++;
    },
  },
);

function adapter(transactionalId: string): KafkaAdapter {
  const a = new KafkaAdapter({
    name: 'kafka',
    brokers: brokers(),
    clientId: 'mqgate-test',
    confirmTimeoutMs: 10_000,
    connectTimeoutMs: 3000,
    maxMessageBytes: 1024 * 1024,
    retryTopics: false,
    sessionTimeoutMs: 10_000,
    maxMessageSize: 64 * 1024,
    delayLevelsMs: [1000],
    transactionalId: () => transactionalId,
    logger,
  });
  adapters.push(a);
  return a;
}

function message(queueId: number, body: string, born = Date.now()): OutboundMessage {
  return { queueId, msgId: newMsgId(), bornTimestamp: born, body, tag: undefined, keys: [], properties: {} };
}

/**
 * The msgIds in every partition of `topic`, read_committed, in offset order per partition, once
 * there are `n` at least (or after 10 s): a commit's answer comes before Kafka has written its
 * transaction markers, and a read_committed reader sees the records only after them. More than
 * `n` (a duplicate) shows too.
 */
async function committed(a: KafkaAdapter, topic: string, n: number): Promise<string[]> {
  const until = Date.now() + 10_000;
  for (;;) {
    const ids = await readCommitted(a, topic);
    if (ids.length >= n || Date.now() > until) return ids;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readCommitted(a: KafkaAdapter, topic: string): Promise<string[]> {
  const seek = a.extras.seek;
  if (seek === undefined) throw new Error('kafka has seek');
  const ids: string[] = [];
  for (const q of await seek.queueOffsets(topic)) {
    for (let at = q.minOffset; at < q.maxOffset;) {
      const r = await seek.pull(topic, q.queueId, at, 1000);
      ids.push(...r.messages.map((m) => m.msgId));
      if (r.messages.length === 0 || r.nextBeginOffset <= at) break;
      at = r.nextBeginOffset;
    }
  }
  return ids;
}

describe('kafka transactional commits', () => {
  afterAll(async () => {
    for (const a of adapters) await a.close().catch(() => undefined);
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('kafka transactions - through the gateway: a commit writes the message and its mark, a rollback nothing', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-kafka-tx-'));
    dirs.push(dataDir);
    const topic = uniqueName('txc');
    const running: Running = await startServer(
      validateConfig({
        server: { host: '127.0.0.1', port: 0 },
        store: { dataDir },
        log: { level: 'error', pretty: false },
        gateway: {
          backends: { kafka: { type: 'kafka', brokers: brokers() } },
          routes: [{ topics: topic, backend: 'kafka', transactionalCommit: true }],
        },
      }),
    );
    try {
      const c = new MqgateClient({ url: running.url });
      await c.upsertTopic(topic, { queues: 2, backend: 'kafka' });
      const halves = await Promise.all(
        ['a', 'b', 'c'].map((k) => c.prepare(topic, 'tx-p', { body: `order ${k}`, shardingKey: k })),
      );
      const [a, b, rolledBack] = halves as [(typeof halves)[0], (typeof halves)[0], (typeof halves)[0]];
      expect((await c.commit(a.transactionId)).state).toBe('COMMIT');
      expect((await c.commit(b.transactionId)).state).toBe('COMMIT');
      expect((await c.rollback(rolledBack.transactionId)).state).toBe('ROLLBACK');
      const reader = adapter(`mqgate-test-${uniqueName('reader')}`);
      expect((await committed(reader, topic, 2)).sort()).toEqual([a.msgId, b.msgId].sort());
      // the gateway's transactional id is its own, kept in its data directory; its marks too
      const id = fs.readFileSync(path.join(dataDir, 'backends', 'kafka', 'transactional-id'), 'utf8');
      expect(id).toMatch(/^mqgate-[0-9a-f]{16}\n$/);
      const marks = await committed(reader, commitMarksTopicOf(id.trim()), 2);
      expect(marks.sort()).toEqual([a.msgId, b.msgId].sort());
      await c.deleteTopic(topic);
    } finally {
      await running.stop();
    }
  }, 60_000);

  it('kafka transactions - kill -9 of the gateway: a half message committed after the restart is sent once, one committed before is not sent again', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-kafka-tx-kill-'));
    dirs.push(dataDir);
    const topic = uniqueName('txk');
    const env = {
      MQGATE_STORE_FLUSH_DISK_TYPE: 'SYNC_FLUSH',
      MQGATE_GATEWAY_BACKENDS: JSON.stringify({ kafka: { type: 'kafka', brokers: brokers() } }),
      MQGATE_GATEWAY_ROUTES: JSON.stringify([{ topics: topic, backend: 'kafka', transactionalCommit: true }]),
    };
    let proc: ServeProcess = await spawnServe(['--data-dir', dataDir], env);
    try {
      let c = new MqgateClient({ url: proc.url });
      await c.upsertTopic(topic, { queues: 2, backend: 'kafka' });
      const before = await c.prepare(topic, 'tx-p', { body: 'committed before' });
      const after = await c.prepare(topic, 'tx-p', { body: 'committed after' });
      await c.commit(before.transactionId);
      proc.child.kill('SIGKILL');
      await proc.exited();
      proc = await spawnServe(['--data-dir', dataDir], env);
      c = new MqgateClient({ url: proc.url });
      expect((await c.commit(after.transactionId)).state).toBe('COMMIT');
      expect((await c.commit(before.transactionId)).state).toBe('COMMIT'); // known: nothing sent
      const reader = adapter(`mqgate-test-${uniqueName('kill-reader')}`);
      expect((await committed(reader, topic, 2)).sort()).toEqual([before.msgId, after.msgId].sort());
      await c.deleteTopic(topic);
    } finally {
      proc.child.kill('SIGKILL');
      await proc.exited();
    }
  }, 90_000);

  it('kafka transactions - a commit repeated after a restart is found by its mark and not sent again', async () => {
    const id = `mqgate-test-${uniqueName('restart')}`;
    const topic = uniqueName('txr');
    const before = adapter(id);
    await before.ensureTopic(topic, 2);
    const m = message(1, 'committed before the crash');
    expect((await before.sendCommitted(topic, m)).queueOffset).toBeGreaterThanOrEqual(0);
    await before.close(); // the gateway died before it wrote its op record
    await new Promise((r) => setTimeout(r, 20)); // born before the next one started
    const after = adapter(id);
    await after.ensureTopic(topic, 2);
    expect((await after.sendCommitted(topic, m)).queueOffset).toBe(-1); // found, not sent
    const never = message(0, 'prepared before the crash, never committed', m.bornTimestamp);
    expect((await after.sendCommitted(topic, never)).queueOffset).toBeGreaterThanOrEqual(0);
    expect((await committed(after, topic, 2)).sort()).toEqual([m.msgId, never.msgId].sort());
    expect(after.commitStats.found).toBe(1);
    await after.deleteTopic(topic);
  }, 60_000);

  it('kafka transactions - a transaction left open by a gateway that died is aborted by the next start', async () => {
    const id = `mqgate-test-${uniqueName('open')}`;
    const topic = uniqueName('txo');
    const a = adapter(id);
    await a.ensureTopic(topic, 1);
    // the dead gateway's producer: a transaction begun, a record sent, never ended
    const dead = new Kafka({ brokers: brokers(), logLevel: logLevel.NOTHING }).producer({
      transactionalId: id,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
    });
    await dead.connect();
    const tx = await dead.transaction();
    await tx.send({ topic, messages: [{ partition: 0, value: 'never committed' }] });
    const m = message(0, 'after the restart');
    expect((await a.sendCommitted(topic, m)).queueOffset).toBeGreaterThanOrEqual(0);
    expect(await committed(a, topic, 1)).toEqual([m.msgId]);
    await dead.disconnect().catch(() => undefined);
    await a.deleteTopic(topic);
  }, 60_000);

  it('kafka transactions - two producers with one transactional id fence each other, and each commit lands once', async () => {
    const id = `mqgate-test-${uniqueName('fence')}`;
    const topic = uniqueName('txf');
    const [a, b] = [adapter(id), adapter(id)];
    await a.ensureTopic(topic, 2);
    await b.ensureTopic(topic, 2);
    const sent: string[] = [];
    for (let i = 0; i < 6; i++)
      for (const w of [a, b]) {
        const m = message(i % 2, `turn ${i}`);
        await w.sendCommitted(topic, m);
        sent.push(m.msgId);
      }
    expect((await committed(a, topic, sent.length)).sort()).toEqual(sent.sort());
    expect(a.commitStats.retries + b.commitStats.retries).toBeGreaterThan(0); // fenced, then again
    await a.deleteTopic(topic);
  }, 120_000);

  it('kafka transactions - back to back and concurrent: each commit once, concurrent ones in few Kafka transactions', async () => {
    const topic = uniqueName('txb');
    const a = adapter(`mqgate-test-${uniqueName('busy')}`);
    await a.ensureTopic(topic, 4);
    const sent: string[] = [];
    const before = concurrentTransactions;
    for (let i = 0; i < 100; i++) {
      const m = message(i % 4, `one after another ${i}`);
      await a.sendCommitted(topic, m);
      sent.push(m.msgId);
    }
    const serial = a.commitStats.transactions;
    expect(serial).toBe(100);
    // a transaction begun right after the last one's commit often meets CONCURRENT_TRANSACTIONS
    // (kafkajs #1315): kafkajs retries it, else the writer does (commitStats.retries)
    console.log(
      `100 transactions back to back: CONCURRENT_TRANSACTIONS ${concurrentTransactions - before} times, writer retries ${a.commitStats.retries}`,
    );
    const many = Array.from({ length: 1000 }, (_, i) => message(i % 4, `at once ${i}`));
    const receipts = await Promise.all(many.map((m) => a.sendCommitted(topic, m)));
    sent.push(...many.map((m) => m.msgId));
    expect(receipts.every((r) => r.queueOffset >= 0)).toBe(true);
    expect(a.commitStats.transactions - serial).toBeLessThanOrEqual(100);
    const got = await committed(a, topic, sent.length);
    expect(got).toHaveLength(sent.length);
    expect(new Set(got)).toEqual(new Set(sent));
    await a.deleteTopic(topic);
  }, 120_000);
});
