/**
 * Cases on the adapter contract itself (adapters/spi.ts): what the gateway's core relies on
 * when it emulates a feature over an adapter's primitives. Each rule of spi.ts has one.
 */
import { describe, expect, it } from 'vitest';
import type { BrokerAdapter, Delivery, DeliveryStream, OutboundMessage } from '../../adapters/index.js';
import { newMsgId } from '../../src/message/index.js';
import { sleep } from './harness.js';

let n = 0;

function message(queueId: number, i: number): OutboundMessage {
  return {
    queueId,
    msgId: newMsgId(),
    bornTimestamp: Date.now() - 1000,
    body: `spi ${i}`,
    tag: `T${i}`,
    keys: [`k${i}`],
    properties: { i: String(i) },
  };
}

/** One reader per stream: a read that timed out stays pending for the next call (no delivery is lost to it). */
const readers = new WeakMap<
  DeliveryStream,
  { it: AsyncIterator<Delivery>; pending?: Promise<IteratorResult<Delivery>> }
>();

/** The next `count` deliveries of a stream, or fewer when none came within `ms`. */
async function next(stream: DeliveryStream, count: number, ms = 3000): Promise<Delivery[]> {
  let r = readers.get(stream);
  if (r === undefined) readers.set(stream, (r = { it: stream[Symbol.asyncIterator]() }));
  const out: Delivery[] = [];
  while (out.length < count) {
    const pending = (r.pending ??= r.it.next());
    const got = await Promise.race([pending, sleep(ms).then(() => undefined)]);
    if (got === undefined) break;
    r.pending = undefined;
    if (got.done === true) break;
    out.push(got.value);
  }
  return out;
}

export function contractCases(name: string, adapter: () => BrokerAdapter, runId: () => string): void {
  const fresh = async (queues: number): Promise<{ a: BrokerAdapter; topic: string; group: string }> => {
    const a = adapter();
    const topic = `t-${runId()}-spi-${++n}`;
    const group = `g-${runId()}-spi-${n}`;
    await a.ensureTopic(topic, queues);
    await a.ensureGroup(group, topic);
    return { a, topic, group };
  };

  describe(`adapter contract on ${name}`, () => {
    it('contract - capabilities() is data; an extra is there exactly where its feature is native', () => {
      const a = adapter();
      expect(a.capabilities()).toEqual(a.capabilities());
      const caps = a.capabilities();
      for (const f of ['pop', 'transactions', 'seek', 'keyQuery', 'deadLetter'] as const)
        expect(a.extras[f] !== undefined, f).toBe(caps.features[f]?.support === 'native');
      expect(a.health().status).toBe('up');
    });

    it('contract - send writes to the queue it names; a stream gives each message once, in queue order, intact', async () => {
      const { a, topic, group } = await fresh(3);
      const stream = a.consume(group, topic, { credit: 100, from: 'FIRST' });
      try {
        const sent = Array.from({ length: 9 }, (_, i) => message(i % 3, i));
        const receipts = await a.send(topic, sent);
        expect(receipts).toHaveLength(9);
        const got = await next(stream, 9);
        expect(got.map((d) => d.message.msgId).sort()).toEqual(sent.map((m) => m.msgId).sort());
        for (const d of got) {
          const m = sent.find((s) => s.msgId === d.message.msgId) as OutboundMessage;
          expect(d.message).toMatchObject({
            topic,
            queueId: m.queueId,
            tag: m.tag,
            bornTimestamp: m.bornTimestamp,
          });
          expect(d.message.keys).toEqual(m.keys);
          expect(d.message.properties.i).toBe(m.properties.i);
          expect(d.message.body.toString()).toBe(m.body);
          expect(d.deliveryAttempt).toBe(1);
        }
        for (let q = 0; q < 3; q++) {
          const order = got.filter((d) => d.message.queueId === q).map((d) => Number(d.message.properties.i));
          expect(order).toEqual([...order].sort((x, y) => x - y));
        }
        for (const d of got) expect(await d.ack()).toBe(true);
        expect(await got[0]?.ack()).toBe(false); // settling twice is harmless
        expect(await next(stream, 1, 500)).toEqual([]);
      } finally {
        await stream.close();
      }
    });

    it('contract - a stream never has more than credit unsettled; settling one lets the next come', async () => {
      const { a, topic, group } = await fresh(1);
      const stream = a.consume(group, topic, { credit: 3, from: 'FIRST' });
      try {
        await a.send(
          topic,
          Array.from({ length: 6 }, (_, i) => message(0, i)),
        );
        const first = await next(stream, 6, 1000);
        expect(first).toHaveLength(3);
        await first[0]?.ack();
        expect(await next(stream, 2, 1000)).toHaveLength(1);
      } finally {
        await stream.close();
      }
    });

    it('contract - release gives a delivery back; it comes again', async () => {
      const { a, topic, group } = await fresh(1);
      const stream = a.consume(group, topic, { credit: 10, from: 'FIRST' });
      try {
        const [sent] = await a.send(topic, [message(0, 1)]).then(() => [1]);
        expect(sent).toBe(1);
        const [d] = await next(stream, 1);
        expect(await d?.release()).toBe(true);
        const [again] = await next(stream, 1);
        expect(again?.message.msgId).toBe(d?.message.msgId);
        expect(await again?.ack()).toBe(true);
      } finally {
        await stream.close();
      }
    });

    it('contract - each native extra answers for what the primitives wrote (pop, seek, key query, transactions)', async () => {
      const { a, topic, group } = await fresh(1);
      const sent = [message(0, 1), message(0, 2)];
      const { pop, seek, keyQuery, transactions, deadLetter } = a.extras;
      const before = seek === undefined ? 0 : ((await seek.queueOffsets(topic))[0]?.maxOffset ?? 0);
      const [r0] = await a.send(topic, sent);
      // a broker that does not tell the offset at the confirm answers -1 (RabbitMQ streams)
      if (seek !== undefined && r0?.queueOffset !== -1) expect(r0?.queueOffset).toBe(before);
      if (seek !== undefined) {
        const pulled = await seek.pull(topic, 0, before, 2);
        expect(pulled.messages.map((m) => m.msgId)).toEqual(sent.map((m) => m.msgId));
        expect((await seek.queueOffsets(topic))[0]?.maxOffset).toBe(before + 2);
        await seek.resetOffsets(group, topic, 'FIRST');
        expect((await seek.offsets(group, topic))[0]?.offset).toBe(0);
        expect(await seek.offsetAt(topic, 0, (sent[0]?.bornTimestamp ?? 0) - 60_000)).toBe(before);
        expect(await seek.offsetAt(topic, 0, Date.now() + 60_000)).toBe(before + 2);
      }
      if (keyQuery !== undefined) {
        expect((await keyQuery.byMsgId(sent[0]?.msgId ?? ''))?.body.toString()).toBe('spi 1');
        expect((await keyQuery.byKey(topic, 'k2', {})).map((m) => m.msgId)).toEqual([sent[1]?.msgId]);
      }
      if (pop !== undefined) {
        const got = await pop.receive(group, { topic, maxMessages: 2, waitMs: 1000 });
        expect(got.map((m) => m.msgId).sort()).toEqual(sent.map((m) => m.msgId).sort());
        const first = got[0];
        const changed = await pop.changeInvisibleDuration(group, topic, first?.receiptHandle ?? '', 5000);
        await pop.ack(group, topic, changed.receiptHandle);
        expect(await pop.nack(group, topic, got[1]?.receiptHandle ?? '', {})).toBe('RETRY');
      }
      if (transactions !== undefined) {
        const p = await transactions.prepare(topic, 'pg', { body: 'half' });
        expect((await transactions.commit(p.transactionId)).state).toBe('COMMIT');
        const q = await transactions.prepare(topic, 'pg', { body: 'half' });
        expect((await transactions.rollback(q.transactionId)).state).toBe('ROLLBACK');
      }
      if (deadLetter !== undefined) expect(await deadLetter.list(group, {})).toEqual([]);
    });

    it('contract - deleteTopic (where an adapter has it) takes the topic and what its groups held with it', async () => {
      const { a, topic, group } = await fresh(1);
      if (a.deleteTopic === undefined) return; // optional: the broker keeps the topic (the embedded logs)
      await a.send(topic, [message(0, 1)]);
      await a.deleteTopic(topic);
      await a.ensureTopic(topic, 1);
      await a.ensureGroup(group, topic);
      const stream = a.consume(group, topic, { credit: 10, from: 'FIRST' });
      try {
        expect(await next(stream, 1, 1000)).toEqual([]);
      } finally {
        await stream.close();
      }
    });

    it("contract - closing a stream gives back what is unsettled: the group's next stream gets it", async () => {
      const { a, topic, group } = await fresh(1);
      const first = a.consume(group, topic, { credit: 10, from: 'FIRST' });
      const ids = (await a.send(topic, [message(0, 1), message(0, 2)]).then(() => next(first, 2))).map(
        (d) => d.message.msgId,
      );
      expect(ids).toHaveLength(2);
      await first.close();
      expect(first.closed).toBe(true);
      const second = a.consume(group, topic, { credit: 10, from: 'FIRST' });
      try {
        const again = await next(second, 2);
        expect(again.map((d) => d.message.msgId).sort()).toEqual([...ids].sort());
      } finally {
        await second.close();
      }
    });
  });
}
