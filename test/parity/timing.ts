/** Parity scenarios on time: delay levels, the retry schedule and DLQ, invisibility. */
import type { Message } from '../../src/client/index.js';
import type { Harness } from '../conformance/harness.js';
import { DELAY_STEP_MS, sleep } from '../conformance/harness.js';
import { receiveUntil } from '../conformance/receive.js';
import type { Json, Outcome, Precision, Scenario } from './scenario.js';
import { statusOf } from './scenario.js';

const MAX_LEVEL = 18;

/**
 * The levels sent: spaced by more than the precision, so their arrival order is determined
 * even at the worst lateness allowed (up to 4 of them, within the 18 levels).
 */
function spacedLevels(p: Precision): number[] {
  const step = Math.max(2, Math.floor(p.delayMs / DELAY_STEP_MS) + 1);
  return [0, 1, 2, 3].map((i) => 1 + i * step).filter((l) => l <= MAX_LEVEL);
}

/** Several levels sent longest first: they arrive by level, none early, none later than the precision. */
async function delayLevels(h: Harness, p: Precision): Promise<Outcome> {
  const c = h.client;
  const topic = await h.topic('delay');
  const group = await h.group('delay', {}, topic);
  const levels = spacedLevels(p);
  const sentAt = new Map<number, number>();
  for (const level of [...levels].reverse()) {
    sentAt.set(level, Date.now());
    await c.send(topic, { body: `level-${level}`, delayLevel: level });
  }
  const arrivals: { level: number; waited: number }[] = [];
  const until = Date.now() + (levels.at(-1) ?? 0) * DELAY_STEP_MS + p.delayMs + 5000;
  while (arrivals.length < levels.length && Date.now() < until) {
    const got = await receiveUntil(c, group, topic, 1, { maxPerCall: 1, timeoutMs: until - Date.now() });
    for (const m of got) {
      const level = Number(String(m.body).slice('level-'.length));
      arrivals.push({ level, waited: Date.now() - (sentAt.get(level) ?? 0) });
    }
  }
  return {
    levelsSent: levels,
    arrivalOrder: arrivals.map((a) => a.level),
    noneEarly: arrivals.every((a) => a.waited >= a.level * DELAY_STEP_MS - 5),
    allWithinPrecision: arrivals.every((a) => a.waited < a.level * DELAY_STEP_MS + p.delayMs),
  };
}

/** Properties whose value is a position in this run's log: only their presence compares. */
const LOG_POSITION_PROPERTIES = new Set(['__SCHEDULED_FROM']);

/**
 * A message's properties with what names this run (its topic, group, msgId, also inside a
 * value such as `%RETRY%{group}`) replaced by what it stands for.
 */
function normalizedProperties(m: Message, names: Record<string, string>): Json {
  const out: Record<string, string> = {};
  for (const key of Object.keys(m.properties).sort()) {
    let value = m.properties[key] ?? '';
    for (const [stand, name] of Object.entries(names)) value = value.split(name).join(stand);
    out[key] = LOG_POSITION_PROPERTIES.has(key) ? '<log position>' : value;
  }
  return out;
}

const RETRY_LEVELS = [2, 1];
const MAX_RECONSUME = 2;

/** Nacked every time: the attempts and back-offs seen, then the DLQ's copy, then a resend. */
async function retryAndDeadLetter(h: Harness, p: Precision): Promise<Outcome> {
  const c = h.client;
  const topic = await h.topic('retry');
  const group = await h.group(
    'retry',
    { maxReconsumeTimes: MAX_RECONSUME, retryDelayLevels: RETRY_LEVELS },
    topic,
  );
  const sent = await c.send(topic, { body: 'fails', tag: 'pay', keys: ['order-1'], properties: { a: '1' } });
  const attempts: Json[] = [];
  let nackedAt = 0;
  let backoff = 0;
  for (let i = 0; i <= MAX_RECONSUME + 1; i++) {
    const [m] = await receiveUntil(c, group, topic, 1, { ack: false, timeoutMs: 5000 + p.delayMs });
    if (m === undefined) break;
    const waited = Date.now() - nackedAt;
    // the back-off runs from the nack's request: timed from before it, it is never overstated
    const nackAt = Date.now();
    const outcome = (await c.nack(group, topic, m.receiptHandle ?? '')).outcome;
    attempts.push({
      deliveryAttempt: m.deliveryAttempt ?? null,
      reconsumeTimes: m.reconsumeTimes,
      sameMsgId: m.msgId === sent.msgId,
      body: String(m.body),
      backoffNotEarly: i === 0 || waited >= backoff * DELAY_STEP_MS - 5,
      nack: outcome,
    });
    backoff = RETRY_LEVELS[Math.min(i, RETRY_LEVELS.length - 1)] ?? 0;
    nackedAt = nackAt;
    if (outcome !== 'RETRY') break;
  }
  const afterDlq = await receiveUntil(c, group, topic, 1, { stopWhenIdleMs: 600 });
  const dlq = (await c.deadLetters(group)).messages;
  const dead = dlq[0];
  const names = { '<topic>': topic, '<group>': group, '<msgId>': sent.msgId };
  const resend = await c.resendDeadLetter(group, sent.msgId);
  const [again] = await receiveUntil(c, group, topic, 1);
  return {
    attempts,
    deliveredAfterDlq: afterDlq.length,
    dlq: {
      count: dlq.length,
      sameMsgId: dead?.msgId === sent.msgId,
      body: String(dead?.body),
      tag: dead?.tag ?? null,
      keys: dead?.keys ?? [],
      reconsumeTimes: dead?.reconsumeTimes ?? null,
      properties: dead === undefined ? null : normalizedProperties(dead, names),
    },
    resent: {
      status: resend.status,
      sameMsgId: again?.msgId === sent.msgId,
      deliveryAttempt: again?.deliveryAttempt ?? null,
      reconsumeTimes: again?.reconsumeTimes ?? null,
      properties: again === undefined ? null : normalizedProperties(again, names),
    },
  };
}

/** Unacked past its invisible time: it comes again with deliveryAttempt + 1; handles go stale. */
async function invisibility(h: Harness): Promise<Outcome> {
  const c = h.client;
  const topic = await h.topic('invisible');
  const group = await h.group('invisible', {}, topic);
  const sent = await c.send(topic, { body: 'again' });
  const [first] = await receiveUntil(c, group, topic, 1, { invisibleSeconds: 0.5, ack: false });
  const whileInvisible = (await c.receive(group, { topic, waitSeconds: 0 })).messages.length;
  const [second] = await receiveUntil(c, group, topic, 1, { invisibleSeconds: 0.5, ack: false });
  const staleAck = await statusOf(c.ack(group, topic, first?.receiptHandle ?? ''));
  const changed = await c.changeInvisibleDuration(group, topic, second?.receiptHandle ?? '', 3);
  await sleep(900);
  const whileChanged = (await c.receive(group, { topic, waitSeconds: 0 })).messages.length;
  const staleAfterChange = await statusOf(c.ack(group, topic, second?.receiptHandle ?? ''));
  const ackChanged = await statusOf(c.ack(group, topic, changed.receiptHandle));
  const afterAck = await receiveUntil(c, group, topic, 1, { stopWhenIdleMs: 800 });
  return {
    attempts: [first, second].map((m) => ({
      deliveryAttempt: m?.deliveryAttempt ?? null,
      reconsumeTimes: m?.reconsumeTimes ?? null,
      sameMsgId: m?.msgId === sent.msgId,
    })),
    whileInvisible,
    staleAck,
    changeGivesNewHandle: changed.receiptHandle !== second?.receiptHandle,
    whileChanged,
    staleAfterChange,
    ackChanged,
    deliveredAfterAck: afterAck.length,
  };
}

export const timingScenarios: Scenario[] = [
  {
    name: 'delay levels',
    what: 'several levels arrive by level, none early, each within the precision',
    needs: ['delayLevels'],
    run: delayLevels,
  },
  {
    name: 'retry and DLQ',
    what: 'the retry schedule, reconsume times, then the DLQ copy and its properties, then a resend',
    needs: ['retry', 'deadLetter'],
    run: retryAndDeadLetter,
  },
  {
    name: 'invisibility',
    what: 'an unacked message comes again with deliveryAttempt + 1; stale handles are 410',
    needs: ['pop'],
    run: invisibility,
  },
];
