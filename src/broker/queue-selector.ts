import { javaStringHashCode } from '../message/hash.js';

/**
 * How an ordered message's sharding key picks its queue. mqgate computes the queue itself, the
 * same way on every backend, so a key keeps its queue index when a topic moves between backends.
 */
export const ShardingHash = {
  /**
   * RocketMQ 5 proxy: Guava `Hashing.consistentHash(key.hashCode(), queues)`. The default: it is
   * what RocketMQ 5 clients get, and when a topic gains queues it moves only the keys it must.
   */
  CONSISTENT: 'consistent',
  /** RocketMQ 4 `SelectMessageQueueByHash`: `abs(key.hashCode() % queues)`. */
  JAVA_MOD: 'java-mod',
} as const;
export type ShardingHash = (typeof ShardingHash)[keyof typeof ShardingHash];

const LCG_MULTIPLIER = 2862933555777941757n;
const MASK64 = (1n << 64n) - 1n;
const TWO_POW_31 = 2 ** 31;

/** Guava's `Hashing.consistentHash(long input, int buckets)`, bit for bit. */
export function guavaConsistentHash(input: bigint, buckets: number): number {
  let state = BigInt.asUintN(64, input);
  let candidate = 0;
  for (;;) {
    state = (LCG_MULTIPLIER * state + 1n) & MASK64;
    const d = (Number(state >> 33n) + 1) / TWO_POW_31;
    const next = Math.trunc((candidate + 1) / d);
    if (next >= 0 && next < buckets) candidate = next;
    else return candidate;
  }
}

/** The queue of a sharding key among `queues` queues. */
export function shardingQueue(
  key: string,
  queues: number,
  hash: ShardingHash = ShardingHash.CONSISTENT,
): number {
  const h = javaStringHashCode(key);
  if (hash === ShardingHash.JAVA_MOD) return Math.abs(h % queues);
  return guavaConsistentHash(BigInt(h), queues);
}

/** Round-robin over a topic's queues for messages without a sharding key (RocketMQ's default). */
export class RoundRobin {
  readonly #next = new Map<string, number>();

  pick(topic: string, queues: number): number {
    const n = this.#next.get(topic) ?? 0;
    this.#next.set(topic, n + 1 >= Number.MAX_SAFE_INTEGER ? 0 : n + 1);
    return n % queues;
  }
}
