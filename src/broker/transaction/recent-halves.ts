import type { HalfMessage } from './tx-records.js';

const SIZE = 8192; // a power of two
const MASK = SIZE - 1;

/**
 * Half messages prepared lately and not resolved yet, found by transaction id (their msgId), so
 * that a commit needs no read. Bounded: a ring of SIZE slots by queue offset, and a Map from a
 * hash of the id to the queue offset. A half message SIZE offsets older than a new one loses its
 * slot; its commit then reads it back through the KeyIndex.
 *
 * Numbers only in the Map: a Map from id strings to the half messages (what this replaced) kept
 * every entry's young objects reachable from an old table until the next scavenge but one, which
 * promoted about 1.4 MB per scavenge under 45k transactions/s and cost about 2 µs a transaction.
 */
export class RecentHalves {
  readonly #ring: (HalfMessage | undefined)[] = new Array<HalfMessage | undefined>(SIZE).fill(undefined);
  readonly #hashes = new Int32Array(SIZE);
  /** Hash of the id -> queue offset of the newest half message with that hash. */
  readonly #byHash = new Map<number, number>();

  add(half: HalfMessage): void {
    const slot = half.queueOffset & MASK;
    const old = this.#ring[slot];
    if (old !== undefined) this.#unindex(old, this.#hashes[slot] as number);
    const h = idHash(half.msgId);
    this.#ring[slot] = half;
    this.#hashes[slot] = h;
    this.#byHash.set(h, half.queueOffset);
  }

  /** The half message with this id (exactly as prepare returned it), if it is still here. */
  get(transactionId: string): HalfMessage | undefined {
    const offset = this.#byHash.get(idHash(transactionId));
    if (offset === undefined) return undefined;
    const half = this.#ring[offset & MASK];
    return half !== undefined && half.msgId === transactionId ? half : undefined;
  }

  delete(half: HalfMessage): void {
    const slot = half.queueOffset & MASK;
    if (this.#ring[slot] !== half) return;
    this.#ring[slot] = undefined;
    this.#unindex(half, this.#hashes[slot] as number);
  }

  get size(): number {
    return this.#byHash.size;
  }

  #unindex(half: HalfMessage, h: number): void {
    if (this.#byHash.get(h) === half.queueOffset) this.#byHash.delete(h);
  }
}

/** A 32-bit hash of an id (any string; ids are 32 hex characters). */
function idHash(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (Math.imul(h, 31) + id.charCodeAt(i)) | 0;
  return h;
}
