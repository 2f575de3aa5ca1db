/**
 * THE conformance suite: every backend runs the same cases through the gateway's API (REST
 * and WebSocket on a real port), each on its own topics. A case whose feature the backend
 * declares `none` is skipped with that reason in its name, and instead its 422 is checked;
 * nothing else is skipped. Cases on the adapter contract itself are in contract-cases.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { Message } from '../../src/client/index.js';
import { MqgateClientError, MqgateSocket } from '../../src/client/index.js';
import type { BackendInfo } from '../../src/client/types.js';
import { shardingQueue } from '../../src/broker/index.js';
import { contractCases } from './contract-cases.js';
import type { BackendFixture } from './harness.js';
import { DELAY_STEP_MS, Harness, sleep } from './harness.js';
import { receiveUntil, sendAll } from './receive.js';

export async function conformanceSuite(fixture: BackendFixture): Promise<void> {
  const h = new Harness(fixture);
  await h.start();
  afterAll(() => h.stop());
  const info = (await h.client.backends()).backends.find((b) => b.name === fixture.name) as BackendInfo;
  const none = (f: string): boolean => info.features[f] === 'none';
  /** `it`, or a skip whose name says why (the backend declares the feature none). */
  const needs = (f: string, name: string, fn: () => Promise<void>, timeout?: number): void => {
    if (none(f)) it.skip(`${name} (skipped: ${fixture.name} declares ${f} none: ${info.how[f]})`, fn);
    else it(name, fn, timeout);
  };
  const c = () => h.client;

  describe(`conformance on ${fixture.name}`, () => {
    it('backends - the backend is up and declares every feature with how it is done', () => {
      expect(info.status).toBe('up');
      for (const f of [
        'delayLevels',
        'timers',
        'transactions',
        'pop',
        'retry',
        'deadLetter',
        'seek',
        'keyQuery',
      ]) {
        expect(['native', 'emulated', 'none']).toContain(info.features[f]);
        expect(info.how[f]?.length ?? 0).toBeGreaterThan(5);
      }
    });

    it('round trip - N messages come back with body, tag, keys, properties, msgId and born time intact', async () => {
      const topic = await h.topic('roundtrip');
      const group = await h.group('roundtrip', {}, topic);
      const sent = await sendAll(c(), topic, 24, (i) => ({
        ...(i % 3 === 0
          ? { body: `text ${i} ünïcödé` }
          : i % 3 === 1
            ? { body: { n: i, nested: [1, 'two'] } }
            : { bodyBase64: Buffer.from([0, 255, i, 10, 13]).toString('base64') }),
        tag: `T${i % 4}`,
        keys: [`k-${i}`, `both-${i}`],
        properties: { region: i % 2 === 0 ? 'eu' : 'us', n: String(i) },
      }));
      const got = await receiveUntil(c(), group, topic, sent.length);
      expect(got.map((m) => m.msgId).sort()).toEqual(sent.map((s) => s.result.msgId).sort());
      for (const m of got) {
        const s = sent.find((x) => x.result.msgId === m.msgId);
        const i = Number(m.properties.n);
        expect(m.backend).toBe(fixture.name);
        expect(m.tag).toBe(`T${i % 4}`);
        expect(m.keys).toEqual([`k-${i}`, `both-${i}`]);
        expect(m.properties.region).toBe(i % 2 === 0 ? 'eu' : 'us');
        expect(m.queueId).toBe(s?.result.queueId);
        expect(Math.abs(m.bornTimestamp - (s?.at ?? 0))).toBeLessThan(2000);
        if (i % 3 === 0) expect(m.body).toBe(`text ${i} ünïcödé`);
        else if (i % 3 === 1) expect(m.body).toEqual({ n: i, nested: [1, 'two'] });
        else expect(Buffer.from(m.bodyBase64 ?? '', 'base64')).toEqual(Buffer.from([0, 255, i, 10, 13]));
      }
    });

    it('order - per sharding key FIFO under concurrent producers, on the queue the key hashes to', async () => {
      const topic = await h.topic('order', 4);
      const group = await h.group('order', { orderly: true }, topic);
      await Promise.all(
        Array.from({ length: 4 }, async (_, p) => {
          for (let i = 0; i < 15; i++) await c().send(topic, { body: `${p}:${i}`, shardingKey: `key-${p}` });
        }),
      );
      const got = await receiveUntil(c(), group, topic, 60);
      for (let p = 0; p < 4; p++) {
        const mine = got.filter((m) => String(m.body).startsWith(`${p}:`));
        expect(mine.map((m) => Number(String(m.body).split(':')[1]))).toEqual([...Array(15).keys()]);
        expect(new Set(mine.map((m) => m.queueId))).toEqual(
          new Set([shardingQueue(`key-${p}`, 4, 'consistent')]),
        );
      }
    });

    it('clustering - two consumers of a group split the messages, none goes to both', async () => {
      const topic = await h.topic('split');
      const group = await h.group('split', {}, topic);
      const sent = await sendAll(c(), topic, 40, (i) => ({ body: `m${i}` }));
      const [a, b] = await Promise.all([
        receiveUntil(c(), group, topic, 40, { maxPerCall: 3, stopWhenIdleMs: 1500 }),
        receiveUntil(c(), group, topic, 40, { maxPerCall: 3, stopWhenIdleMs: 1500 }),
      ]);
      const ids = [...a, ...b].map((m) => m.msgId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(sent.map((s) => s.result.msgId).sort());
    });

    needs('broadcasting', 'broadcasting - every subscriber of a group gets every message', async () => {
      const topic = await h.topic('broadcast');
      const group = await h.group('broadcast', { consumeMode: 'BROADCASTING', consumeFrom: 'LAST' });
      const seen: Message[][] = [[], []];
      const sockets = await Promise.all([0, 1].map(() => MqgateSocket.connect({ url: h.url })));
      try {
        await Promise.all(
          sockets.map((ws, i) =>
            ws.subscribe(
              group,
              topic,
              (m) => {
                seen[i]?.push(m);
                ws.ack(m.receiptHandle ?? '');
              },
              { credit: 16, clientId: `client-${i}` },
            ),
          ),
        );
        await sleep(300);
        const sent = await sendAll(c(), topic, 10, (i) => ({ body: `b${i}` }));
        await waitFor(() => seen.every((s) => s.length >= 10), 10_000);
        for (const s of seen)
          expect(s.map((m) => m.msgId).sort()).toEqual(sent.map((x) => x.result.msgId).sort());
      } finally {
        for (const ws of sockets) ws.close();
      }
    });

    it('pop - an unacked message comes back after its invisible time with deliveryAttempt + 1', async () => {
      const topic = await h.topic('invisible');
      const group = await h.group('invisible', {}, topic);
      const [s] = await sendAll(c(), topic, 1, () => ({ body: 'again' }));
      const first = await receiveUntil(c(), group, topic, 1, { invisibleSeconds: 0.5, ack: false });
      expect(first[0]?.deliveryAttempt).toBe(1);
      expect((await c().receive(group, { topic, waitSeconds: 0 })).messages).toEqual([]);
      const again = await receiveUntil(c(), group, topic, 1, { invisibleSeconds: 5, ack: false });
      expect(again[0]?.msgId).toBe(s?.result.msgId);
      expect(again[0]?.deliveryAttempt).toBe(2);
      await expect(c().ack(group, topic, first[0]?.receiptHandle ?? '')).rejects.toMatchObject({
        status: 410,
      });
      await c().ack(group, topic, again[0]?.receiptHandle ?? '');
    });

    it('pop - changeInvisibleDuration keeps a message away longer and gives a new handle', async () => {
      const topic = await h.topic('change');
      const group = await h.group('change', {}, topic);
      await sendAll(c(), topic, 1, () => ({ body: 'held' }));
      const [m] = await receiveUntil(c(), group, topic, 1, { invisibleSeconds: 0.5, ack: false });
      const changed = await c().changeInvisibleDuration(group, topic, m?.receiptHandle ?? '', 3);
      expect(changed.receiptHandle).not.toBe(m?.receiptHandle);
      await sleep(900);
      expect((await c().receive(group, { topic, waitSeconds: 0 })).messages).toEqual([]);
      await expect(c().ack(group, topic, m?.receiptHandle ?? '')).rejects.toMatchObject({ status: 410 });
      await c().ack(group, topic, changed.receiptHandle);
      await expect(c().ack(group, topic, 'not-a-handle')).rejects.toMatchObject({ status: 400 });
    });

    it('retry - nack retries after the back-off, then the DLQ; a resend comes back afresh', async () => {
      const topic = await h.topic('retry');
      const group = await h.group('retry', { maxReconsumeTimes: 1, retryDelayLevels: [3] }, topic);
      const [s] = await sendAll(c(), topic, 1, () => ({ body: 'fails', tag: 'pay' }));
      const [a1] = await receiveUntil(c(), group, topic, 1, { ack: false });
      expect(a1?.deliveryAttempt).toBe(1);
      const nacked = Date.now();
      expect((await c().nack(group, topic, a1?.receiptHandle ?? '')).outcome).toBe('RETRY');
      const [a2] = await receiveUntil(c(), group, topic, 1, { ack: false });
      expect(Date.now() - nacked).toBeGreaterThanOrEqual(3 * DELAY_STEP_MS - 20);
      expect(a2?.msgId).toBe(s?.result.msgId);
      expect(a2?.deliveryAttempt).toBe(2);
      expect(a2?.body).toBe('fails');
      expect((await c().nack(group, topic, a2?.receiptHandle ?? '')).outcome).toBe('DLQ');
      const dlq = await c().deadLetters(group);
      expect(dlq.messages.map((m) => m.msgId)).toContain(s?.result.msgId);
      expect((await c().resendDeadLetter(group, s?.result.msgId ?? '')).status).toBe('SEND_OK');
      const [a3] = await receiveUntil(c(), group, topic, 1);
      expect(a3?.msgId).toBe(s?.result.msgId);
      expect(a3?.deliveryAttempt).toBe(1);
    });

    needs(
      'delayLevels',
      'delay - a delayed message is never early, and late by less than the precision',
      async () => {
        const topic = await h.topic('delay');
        const group = await h.group('delay', {}, topic);
        const at = Date.now();
        await c().send(topic, { body: 'level 5', delayLevel: 5 });
        const [m] = await receiveUntil(c(), group, topic, 1);
        const waited = Date.now() - at;
        expect(m?.body).toBe('level 5');
        expect(waited).toBeGreaterThanOrEqual(5 * DELAY_STEP_MS - 5);
        expect(waited).toBeLessThan(5 * DELAY_STEP_MS + 1500);
      },
    );

    needs('timers', 'timer - a message with deliverAt is never early', async () => {
      const topic = await h.topic('timer');
      const group = await h.group('timer', {}, topic);
      const due = Date.now() + 700;
      await c().send(topic, { body: 'on time', deliverAt: due });
      const [m] = await receiveUntil(c(), group, topic, 1);
      expect(Date.now()).toBeGreaterThanOrEqual(due - 5);
      expect(Date.now() - due).toBeLessThan(1500);
      expect(m?.body).toBe('on time');
    });

    needs(
      'transactions',
      'transactions - commit shows, rollback hides, a conflicting second answer is 409',
      async () => {
        const topic = await h.topic('tx');
        const group = await h.group('tx', {}, topic);
        const yes = await c().prepare(topic, 'pg', { body: 'yes' });
        const no = await c().prepare(topic, 'pg', { body: 'no' });
        expect((await c().receive(group, { topic, waitSeconds: 0.3 })).messages).toEqual([]);
        await c().commit(yes.transactionId);
        await c().commit(yes.transactionId); // idempotent
        await c().rollback(no.transactionId);
        await expect(c().commit(no.transactionId)).rejects.toMatchObject({ status: 409 });
        // the committed one comes (a remote backend may take a while to start the group's
        // reads), then nothing more: the rolled back one never does
        const got = await receiveUntil(c(), group, topic, 1, { timeoutMs: 10_000 });
        got.push(...(await receiveUntil(c(), group, topic, 1, { stopWhenIdleMs: 800 })));
        expect(got.map((m) => m.body)).toEqual(['yes']);
        expect(got[0]?.msgId).toBe(yes.msgId);
      },
    );

    needs(
      'transactions',
      'transactions - an open one is checked back and committed by the answer',
      async () => {
        const topic = await h.topic('txcheck');
        const group = await h.group('txcheck', {}, topic);
        const srv = http.createServer((_q, s) => s.end('{"state":"COMMIT"}'));
        await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
        try {
          const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/check`;
          const p = await c().prepare(topic, 'pg', { body: 'checked' }, url);
          const [m] = await receiveUntil(c(), group, topic, 1, { timeoutMs: 10_000 });
          expect(m?.msgId).toBe(p.msgId);
        } finally {
          srv.close();
        }
      },
    );

    it('filters - tag and SQL92 subscriptions get exactly their messages', async () => {
      const topic = await h.topic('filter');
      const tagGroup = await h.group('tags', {}, topic);
      const sqlGroup = await h.group('sql', {}, topic);
      const sent = await sendAll(c(), topic, 24, (i) => ({
        body: `f${i}`,
        tag: ['A', 'B', 'C'][i % 3],
        properties: {
          ...(i % 4 === 0 ? {} : { region: i % 2 === 0 ? 'eu' : 'us' }),
          amount: String(i),
        },
      }));
      const byTag = await receiveUntil(c(), tagGroup, topic, 16, {
        filter: { type: 'TAG', expression: 'A || C' },
        stopWhenIdleMs: 1000,
      });
      const bySql = await receiveUntil(c(), sqlGroup, topic, 24, {
        filter: {
          type: 'SQL92',
          expression: "region IS NOT NULL AND region = 'eu' AND amount BETWEEN 3 AND 20",
        },
        stopWhenIdleMs: 1000,
      });
      const wantTag = sent.filter((_, i) => i % 3 !== 1).map((s) => s.result.msgId);
      const wantSql = sent
        .filter((_, i) => i % 4 !== 0 && i % 2 === 0 && i >= 3 && i <= 20)
        .map((s) => s.result.msgId);
      expect(byTag.map((m) => m.msgId).sort()).toEqual(wantTag.sort());
      expect(bySql.map((m) => m.msgId).sort()).toEqual(wantSql.sort());
    });

    needs(
      'startPosition',
      'start - a new group from LAST sees only later messages, from FIRST the earlier too',
      async () => {
        const topic = await h.topic('start', 2);
        await sendAll(c(), topic, 2, (i) => ({ body: `before${i}` }));
        const last = await h.group('last', { consumeFrom: 'LAST' });
        const first = await h.group('first');
        expect(await receiveUntil(c(), last, topic, 1, { timeoutMs: 800 })).toEqual([]);
        await sendAll(c(), topic, 1, () => ({ body: 'after' }));
        expect((await receiveUntil(c(), last, topic, 1)).map((m) => m.body)).toEqual(['after']);
        const all = await receiveUntil(c(), first, topic, 3);
        expect(all.map((m) => m.body).sort()).toEqual(['after', 'before0', 'before1']);
      },
    );

    needs('seek', 'seek - pull by offset, offsets with lag, reset to a time', async () => {
      const topic = await h.topic('seek', 1);
      const group = await h.group('seek', {}, topic);
      await sendAll(c(), topic, 5, (i) => ({ body: `old${i}` }));
      await sleep(50);
      const mid = Date.now();
      await sleep(50);
      await sendAll(c(), topic, 3, (i) => ({ body: `new${i}` }));
      const pulled = await c().pull(topic, 0, 2, 10);
      expect(pulled.messages.map((m) => m.body)).toEqual(['old2', 'old3', 'old4', 'new0', 'new1', 'new2']);
      await receiveUntil(c(), group, topic, 8);
      await waitFor(async () => (await c().offsets(group, topic)).offsets[0]?.offset === 8, 5000);
      const reset = await c().resetOffsets(group, topic, mid);
      expect(reset.offsets[0]?.offset).toBe(5);
      const again = await receiveUntil(c(), group, topic, 3);
      expect(again.map((m) => m.body).sort()).toEqual(['new0', 'new1', 'new2']);
    });

    if (none('seek'))
      it(`seek - pull by offset answers 422 naming the feature and ${fixture.name}`, async () => {
        const topic = await h.topic('noseek', 1);
        const err = await c()
          .pull(topic, 0, 0, 1)
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(MqgateClientError);
        expect(err).toMatchObject({ status: 422, code: 'MQ_ERR_FEATURE_UNSUPPORTED' });
        expect((err as Error).message).toContain(fixture.name);
      });

    it('query - by msgId and by key', async () => {
      const topic = await h.topic('query');
      const [s] = await sendAll(c(), topic, 1, () => ({ body: 'find me', keys: ['order-7'], tag: 'q' }));
      const byId = await c().getMessage(s?.result.msgId ?? '');
      expect(byId).toMatchObject({ msgId: s?.result.msgId, topic, tag: 'q', keys: ['order-7'] });
      const byKey = await c().queryByKey(topic, 'order-7');
      expect(byKey.messages.map((m) => m.msgId)).toEqual([s?.result.msgId]);
      if (none('seek')) expect(byId.properties.MQGATE_BODY).toBe('not-kept');
      else expect(byId.body).toBe('find me');
    });

    it('limits - a message over the largest size is a 413 and nothing is stored', async () => {
      const topic = await h.topic('large');
      const err = await c()
        .send(topic, { body: 'x'.repeat(64 * 1024 + 1) })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 413, code: 'MQ_ERR_MESSAGE_TOO_LARGE' });
    });

    it(`restart - ${fixture.name} restarted mid-traffic loses no confirmed message`, async () => {
      const topic = await h.topic('restart');
      const group = await h.group('restart', {}, topic);
      const confirmed = new Set<string>();
      let running = true;
      const producers = Array.from({ length: 3 }, async (_, p) => {
        for (let i = 0; running; i++) {
          try {
            confirmed.add((await h.client.send(topic, { body: `${p}-${i}` })).msgId);
          } catch {
            await sleep(50); // refused while the broker is away (503): try again
          }
        }
      });
      await sleep(400);
      await fixture.restart(h);
      await sleep(400);
      running = false;
      await Promise.all(producers);
      expect(confirmed.size).toBeGreaterThan(20);
      // a consumer may take a broker's session timeout to join again after the restart (Kafka:
      // the group counts its member of before until then, 10 s in the gateway's config)
      const got = await receiveUntil(h.client, group, topic, confirmed.size, {
        timeoutMs: 30_000,
        stopWhenIdleMs: 12_000,
      });
      const seen = new Set(got.map((m) => m.msgId));
      expect([...confirmed].filter((id) => !seen.has(id))).toEqual([]);
      // the cases after this one start from a backend that is up again
      await waitFor(
        async () =>
          (await h.client.backends()).backends.find((b) => b.name === fixture.name)?.status === 'up',
        30_000,
      );
    }, 90_000);

    contractCases(
      fixture.name,
      () => h.adapter(),
      () => h.runId,
    );
  });
}

async function waitFor(ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`not reached within ${timeoutMs} ms`);
    await sleep(50);
  }
}
