/**
 * How a gRPC send reaches the queue mqgate names. The proxy ignores the client's queue id: it
 * sends a request of one message with a message group to write queue
 * `consistentHash(javaHashCode(group), writeQueues)` (Guava, SendMessageQueueSelector), and
 * anything else round-robin. mqgate's default sharding hash is that same function, so:
 *
 * - a message whose sharding key already hashes to its queue is sent with the key as its group
 *   (RocketMQ's FIFO consumers then order it by key, as RocketMQ clients would);
 * - any other message gets a group made for its queue, `mqgate-q{queue}-{n}` with the first n
 *   that hashes there (the same for every gateway).
 *
 * A delivered message's queue is then the hash of its group. RocketMQ 5 takes a message group
 * only on FIFO (or MIXED) topics, and not together with a delivery time or a transaction.
 */
import { shardingQueue } from '../../src/broker/index.js';
import { MqgateError } from '../../src/errors.js';

const found = new Map<string, string>();

/** The message group that lands on `queueId` of `queues`, for `shardingKey` if it does. */
export function groupFor(queueId: number, queues: number, shardingKey?: string): string {
  if (!Number.isInteger(queueId) || queueId < 0 || queueId >= queues)
    throw new MqgateError('MQ_ERR_QUEUE_INVALID', `queue ${queueId} of a topic with ${queues} write queues`);
  if (shardingKey !== undefined && shardingKey !== '' && shardingQueue(shardingKey, queues) === queueId)
    return shardingKey;
  const memo = `${queues}/${queueId}`;
  const known = found.get(memo);
  if (known !== undefined) return known;
  for (let n = 0; ; n++) {
    const group = `mqgate-q${queueId}-${n}`;
    if (shardingQueue(group, queues) === queueId) {
      found.set(memo, group);
      return group;
    }
  }
}

/** The queue a message of `group` was written to, of `queues`. */
export function queueOfGroup(group: string, queues: number): number {
  return shardingQueue(group, queues);
}
