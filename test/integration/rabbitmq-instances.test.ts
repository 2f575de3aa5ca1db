/**
 * Two gateways (two processes, each its own data dir) in front of the one RabbitMQ, naming
 * each other in cluster.peers: one group's messages are split across them with none lost or
 * given to both; a transaction prepared on one is committed through the other; a receipt
 * handle of one is acked through the other.
 */
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/client/index.js';
import { consumeUntil, twoGateways } from '../helpers/two-gateways.js';
import { brokerAddress, sleep } from './brokers.js';

const { ca, cb, shared } = twoGateways({
  backends: { rabbit: { type: 'rabbitmq', url: brokerAddress('rabbitmq') } },
  routes: [{ topics: 't-*', backend: 'rabbit' }],
});

describe('rabbitmq - two gateways in front of one broker', () => {
  it('instances - one group is split across both, none lost, none given to both', async () => {
    const { topic, group } = await shared('split');
    const got: [Message[], Message[]] = [[], []];
    const deadline = Date.now() + 30_000;
    const stop = () => got[0].length + got[1].length >= 200 || Date.now() > deadline;
    const consumers = [
      consumeUntil(ca(), group, topic, got[0], stop),
      consumeUntil(cb(), group, topic, got[1], stop),
    ];
    const sent: string[] = [];
    for (let i = 0; i < 200; i++)
      sent.push((await (i % 2 === 0 ? ca() : cb()).send(topic, { body: `m${i}` })).msgId);
    await Promise.all(consumers);
    await sleep(1500); // anything given twice would come now
    const late = [
      ...(await ca().receive(group, { topic, waitSeconds: 0.5 })).messages,
      ...(await cb().receive(group, { topic, waitSeconds: 0.5 })).messages,
    ];
    const all = [...got[0], ...got[1], ...late].map((m) => m.msgId);
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual([...sent].sort());
    expect(got[0].length).toBeGreaterThan(0);
    expect(got[1].length).toBeGreaterThan(0);
  }, 60_000);

  it('instances - a transaction prepared on one is committed through the other', async () => {
    const { topic, group } = await shared('tx');
    const p = await ca().prepare(topic, 'pg', { body: 'half on a' });
    expect(p.transactionId.startsWith('gw-a~')).toBe(true);
    expect((await cb().commit(p.transactionId)).state).toBe('COMMIT');
    const got: Message[] = [];
    for (let i = 0; i < 20 && got.length === 0; i++)
      for (const c of [ca(), cb()])
        got.push(...(await c.receive(group, { topic, waitSeconds: 0.5 })).messages);
    expect(got.map((m) => m.msgId)).toEqual([p.msgId]);
  }, 60_000);

  it('instances - a receipt handle of one is acked through the other', async () => {
    const { topic, group } = await shared('ack');
    const sent = await ca().send(topic, { body: 'ack me elsewhere' });
    // both gateways consume the group's queues: whichever holds it hands it out
    let m: Message | undefined;
    let from = '';
    for (let i = 0; i < 20 && m === undefined; i++)
      for (const [name, c] of [
        ['gw-a', ca()],
        ['gw-b', cb()],
      ] as const) {
        m ??= (await c.receive(group, { topic, waitSeconds: 0.3, invisibleSeconds: 1 })).messages[0];
        if (m !== undefined && from === '') from = name;
      }
    expect(m?.msgId).toBe(sent.msgId);
    expect(m?.receiptHandle?.startsWith(`${from}~`)).toBe(true);
    await (from === 'gw-a' ? cb() : ca()).ack(group, topic, m?.receiptHandle ?? '');
    await sleep(1500); // past the invisible time: an unacked message would be back
    const again = [
      ...(await ca().receive(group, { topic, waitSeconds: 0.5 })).messages,
      ...(await cb().receive(group, { topic, waitSeconds: 0.5 })).messages,
    ];
    expect(again).toEqual([]);
  }, 60_000);
});
