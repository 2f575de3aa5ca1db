/** Parity scenarios on where a message goes and what it carries: queue choice, msgId, born time. */
import { newMsgId } from '../../src/message/index.js';
import type { Harness } from '../conformance/harness.js';
import { receiveUntil } from '../conformance/receive.js';
import type { Outcome, Precision, Scenario } from './scenario.js';

const KEYS = 10;

/** Ten sharding keys on a 4-queue topic: the queue index each lands on, sent and received. */
async function queueChoice(h: Harness): Promise<Outcome> {
  const c = h.client;
  const topic = await h.topic('shard', 4);
  const group = await h.group('shard', {}, topic);
  const sentQueue: Outcome = {};
  for (let k = 0; k < KEYS; k++)
    sentQueue[`key-${k}`] = (await c.send(topic, { body: `key-${k}`, shardingKey: `key-${k}` })).queueId;
  const got = await receiveUntil(c, group, topic, KEYS);
  return {
    queueOfKey: sentQueue,
    receivedOnThatQueue: got.length === KEYS && got.every((m) => sentQueue[String(m.body)] === m.queueId),
  };
}

/** A given msgId is kept end to end; a born timestamp lies within the send's window. */
async function msgIdAndBornTime(h: Harness, p: Precision): Promise<Outcome> {
  const c = h.client;
  const topic = await h.topic('identity');
  const group = await h.group('identity', {}, topic);
  const given = newMsgId();
  const before = Date.now();
  const withId = await c.send(topic, { body: 'given', msgId: given });
  const generated = await c.send(topic, { body: 'generated' });
  const after = Date.now();
  const got = await receiveUntil(c, group, topic, 2);
  const byBody = (b: string) => got.find((m) => m.body === b);
  const within = (t: number | undefined) =>
    t !== undefined && t >= before - p.clockSkewMs && t <= after + p.clockSkewMs;
  const queried = await c.getMessage(given);
  return {
    received: got.length,
    givenKeptBySend: withId.msgId === given,
    givenKeptOnReceive: byBody('given')?.msgId === given,
    generatedKeptOnReceive: byBody('generated')?.msgId === generated.msgId,
    generatedIsHex32: /^[0-9A-F]{32}$/.test(generated.msgId),
    bornWithinSendWindow: got.map((m) => within(m.bornTimestamp)),
    storedNotBeforeBorn: got.map((m) => m.storeTimestamp >= m.bornTimestamp),
    queryKeepsBornTime: queried.bornTimestamp === byBody('given')?.bornTimestamp,
  };
}

export const identityScenarios: Scenario[] = [
  {
    name: 'queue choice',
    what: 'the queue index of each of 10 sharding keys on a 4-queue topic',
    needs: [],
    run: queueChoice,
  },
  {
    name: 'msgId and born time',
    what: 'a given msgId is kept; born within the send window',
    needs: [],
    run: msgIdAndBornTime,
  },
];
