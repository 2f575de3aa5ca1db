/**
 * How many waiting sends one produce request takes. Two limits: the request's size, and the
 * topic's `max.message.bytes`, which Kafka applies to each partition's record batch as a whole,
 * not to a record: records coalesced for one partition must stay under it together, or the
 * broker refuses them all (MESSAGE_TOO_LARGE). A topic made elsewhere may have a small limit.
 */
import type { Message } from 'kafkajs';
import { recordSize } from './codec.js';

/** A send's records, summed per partition: what a request's budget is checked against. */
export type PartitionBytes = readonly { readonly partition: number; readonly bytes: number }[];

/** The bytes of `records` per partition (a send usually has one partition: one entry). */
export function partitionBytes(records: readonly (Message & { partition: number })[]): PartitionBytes {
  const out: { partition: number; bytes: number }[] = [];
  for (const r of records) {
    const n = recordSize(r);
    const known = out.find((p) => p.partition === r.partition);
    if (known === undefined) out.push({ partition: r.partition, bytes: n });
    else known.bytes += n;
  }
  return out;
}

/** One request's budget, filled send by send. */
export class RequestBudget {
  readonly #maxRequestBytes: number;
  readonly #byPartition = new Map<string, number>();
  #total = 0;

  constructor(maxRequestBytes: number) {
    this.#maxRequestBytes = maxRequestBytes;
  }

  /**
   * Takes a send if it fits: under the request's size, and each of its partitions under
   * `limit` (its topic's max.message.bytes) with what the request holds for it already. The
   * first send is always taken (alone, it fails or passes on its own).
   */
  take(topic: string, parts: PartitionBytes, limit: number): boolean {
    let bytes = 0;
    for (const p of parts) bytes += p.bytes;
    if (this.#total > 0) {
      if (this.#total + bytes > this.#maxRequestBytes) return false;
      for (const p of parts)
        if ((this.#byPartition.get(`${topic}\u0000${p.partition}`) ?? 0) + p.bytes > limit) return false;
    }
    this.#total += bytes;
    for (const p of parts) {
      const key = `${topic}\u0000${p.partition}`;
      this.#byPartition.set(key, (this.#byPartition.get(key) ?? 0) + p.bytes);
    }
    return true;
  }
}
