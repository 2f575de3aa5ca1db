/**
 * What mqgate declares on RabbitMQ, and the names it uses. Every declaration is idempotent
 * (the same arguments each time), so any gateway may declare at any time.
 *
 * ```
 *  publish --(key {topic}.{queue}.{tag})--> mqgate.topics (topic exchange)
 *      |                                        |-- {topic}.{queue}.# --> {topic}.{group}.q{queue}   one per group and queue (quorum)
 *      |                                        `-- no binding --------> mqgate.unrouted (alternate exchange: a bounded queue)
 *      `-- delayed: mqgate.delay (headers exchange, mqgate-delay: d{ms}) --> mqgate.delay.{ms}ms
 *              (quorum, TTL {ms}) --expired--> mqgate.topics with the message's own key
 *  retry copy: mqgate.delay (mqgate-delay: r{ms}, key = the group's queue) --> mqgate.retry.{ms}ms
 *              (TTL {ms}) --expired--> default exchange --> that one queue of that one group
 *  past x-delivery-limit, or sent there: %DLQ%{group} (classic, lazy), one per group
 *
 *  queueType stream: mqgate.topics -- {topic}.{queue}.# --> {topic}.s{queue}, one stream per
 *              queue index that every group reads by offset (offsets kept by mqgate)
 * ```
 * Dead-lettering out of quorum queues is at-least-once (`x-dead-letter-strategy`, which needs
 * `x-overflow: reject-publish`), so an expiring delay or a message past its delivery limit is
 * never lost between two queues.
 */
import { createHash } from 'node:crypto';
import type { Channel } from 'amqplib';

export const TOPICS_EXCHANGE = 'mqgate.topics';
export const UNROUTED = 'mqgate.unrouted';
export const DELAY_EXCHANGE = 'mqgate.delay';
/** Messages no group's queue took: the newest are kept for a look, then dropped (drop-head). */
const UNROUTED_MAX = 10_000;

/** The binding keys of one queue of a group: every message, or its tags' (see routingKey). */
export function bindingKeys(topic: string, queueId: number, tags: '*' | readonly string[]): string[] {
  return tags === '*' ? [`${topic}.${queueId}.#`] : tags.map((t) => routingKey(topic, queueId, t));
}

/** The routing key of a message: topic, queue index, tag (a word without dots or wildcards). */
export function routingKey(topic: string, queueId: number, tag: string | undefined): string {
  return `${topic}.${queueId}.${tagWord(tag)}`;
}

function tagWord(tag: string | undefined): string {
  if (tag === undefined) return '~';
  return /^[A-Za-z0-9_%|-]{1,200}$/.test(tag) ? tag : `~${Buffer.from(tag).toString('hex').slice(0, 200)}`;
}

/** A group's queue for one queue index of a topic (RabbitMQ allows 255 bytes in a name). */
export function shardQueue(topic: string, group: string, queueId: number): string {
  const name = `${topic}.${group}.q${queueId}`;
  if (Buffer.byteLength(name) <= 255) return name;
  const hash = createHash('sha256').update(group).digest('hex').slice(0, 32);
  return `${topic}.g${hash}.q${queueId}`;
}

/** A topic's stream for one queue index (`queueType: stream`): every group reads it by offset. */
export function streamQueue(topic: string, queueId: number): string {
  return `${topic}.s${queueId}`;
}

export function dlqQueue(group: string): string {
  const name = `%DLQ%${group}`;
  return Buffer.byteLength(name) <= 255 ? name : `%DLQ%g${createHash('sha256').update(group).digest('hex')}`;
}

export type DelayKind = 'd' | 'r';

/** The TTL queue of a delay: `d` forwards to the topic exchange, `r` to one group's queue. */
export function delayQueue(kind: DelayKind, ms: number): string {
  return `mqgate.${kind === 'd' ? 'delay' : 'retry'}.${ms}ms`;
}

/** The header that routes a publish to `mqgate.delay` into the TTL queue of `kind` and `ms`. */
export function delaySelector(kind: DelayKind, ms: number): Record<string, string> {
  return { 'mqgate-delay': `${kind}${ms}` };
}

const QUORUM_DLX = {
  'x-queue-type': 'quorum',
  'x-dead-letter-strategy': 'at-least-once',
  'x-overflow': 'reject-publish',
} as const;

/** The exchanges and the unrouted queue every topic needs. */
export async function declareBase(ch: Channel): Promise<void> {
  await ch.assertExchange(UNROUTED, 'fanout', { durable: true });
  await ch.assertQueue(UNROUTED, {
    durable: true,
    arguments: { 'x-max-length': UNROUTED_MAX, 'x-overflow': 'drop-head', 'x-queue-mode': 'lazy' },
  });
  await ch.bindQueue(UNROUTED, UNROUTED, '');
  await ch.assertExchange(TOPICS_EXCHANGE, 'topic', {
    durable: true,
    arguments: { 'alternate-exchange': UNROUTED },
  });
  await ch.assertExchange(DELAY_EXCHANGE, 'headers', { durable: true });
}

/** The TTL queue of one delay, bound to `mqgate.delay` by its selector. */
export async function declareDelay(ch: Channel, kind: DelayKind, ms: number): Promise<void> {
  const name = delayQueue(kind, ms);
  await ch.assertQueue(name, {
    durable: true,
    arguments: {
      ...QUORUM_DLX,
      'x-message-ttl': ms,
      'x-dead-letter-exchange': kind === 'd' ? TOPICS_EXCHANGE : '',
    },
  });
  await ch.bindQueue(name, DELAY_EXCHANGE, '', { 'x-match': 'all', ...delaySelector(kind, ms) });
}

export interface ShardOptions {
  /** Redeliveries before RabbitMQ dead-letters a message to the group's DLQ. */
  readonly deliveryLimit: number;
  /** Orderly groups: one consumer at a time per queue (single active consumer). */
  readonly orderly: boolean;
  /** A broadcasting member's queues: deleted after this long without a consumer (ms). */
  readonly expiresMs?: number | undefined;
}

/** A group's queues on a topic, bound by queue index (and its tags), and its DLQ. */
export async function declareGroup(
  ch: Channel,
  group: string,
  topic: string,
  queues: number,
  o: ShardOptions,
  tags: '*' | readonly string[],
): Promise<void> {
  const dlq = dlqQueue(group);
  await ch.assertQueue(dlq, { durable: true, arguments: { 'x-queue-mode': 'lazy' } });
  for (let q = 0; q < queues; q++) {
    const name = shardQueue(topic, group, q);
    await ch.assertQueue(name, {
      durable: true,
      arguments: {
        ...QUORUM_DLX,
        // quorum queues put a requeued message back at its place only with a delivery limit
        'x-delivery-limit': o.deliveryLimit,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': dlq,
        ...(o.orderly ? { 'x-single-active-consumer': true } : {}),
        ...(o.expiresMs === undefined ? {} : { 'x-expires': o.expiresMs }),
      },
    });
    for (const key of bindingKeys(topic, q, tags)) await ch.bindQueue(name, TOPICS_EXCHANGE, key);
  }
}

/** Binds a group's queues for other tags: the new keys first, then the old ones go. */
export async function rebindGroup(
  ch: Channel,
  group: string,
  topic: string,
  queues: number,
  from: '*' | readonly string[],
  to: '*' | readonly string[],
): Promise<void> {
  for (let q = 0; q < queues; q++) {
    const name = shardQueue(topic, group, q);
    const keep = new Set(bindingKeys(topic, q, to));
    for (const key of keep) await ch.bindQueue(name, TOPICS_EXCHANGE, key);
    for (const key of bindingKeys(topic, q, from))
      if (!keep.has(key)) await ch.unbindQueue(name, TOPICS_EXCHANGE, key);
  }
}

/** A topic's streams (`queueType: stream`), one per queue index, kept for `maxAge` (e.g. `3D`). */
export async function declareStreams(
  ch: Channel,
  topic: string,
  queues: number,
  maxAge: string,
): Promise<void> {
  for (let q = 0; q < queues; q++) {
    const name = streamQueue(topic, q);
    await ch.assertQueue(name, {
      durable: true,
      arguments: { 'x-queue-type': 'stream', 'x-max-age': maxAge },
    });
    await ch.bindQueue(name, TOPICS_EXCHANGE, `${topic}.${q}.#`);
  }
}
