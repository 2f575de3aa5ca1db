import { msgIdSeqLow16 } from '../../message/msg-id.js';
import type { HalfMessage } from './tx-records.js';

const SIZE = 65_536; // 16 bits of the id's sequence number (see msgIdSeqLow16)
const MASK = SIZE - 1;

/**
 * Half messages prepared lately and not resolved yet, found by transaction id (their msgId), so
 * that a commit needs no read. Bounded: a ring of SIZE slots, the slot named by the low 16 bits
 * of the sequence number the id carries (characters 14-17, see msg-id.ts). Ids are made one
 * after another, so two half messages share a slot only when SIZE ids were made between them
 * (or when ids came from elsewhere): the older one loses its slot, and its commit reads it back
 * through the KeyIndex.
 *
 * No Map: a Map from id strings to the half messages (what this replaced first) kept every
 * entry's young objects reachable from an old table until the next scavenge but one, which
 * promoted about 1.4 MB per scavenge under 45k transactions/s and cost about 2 µs a
 * transaction; a Map from a hash of the id (what replaced that) cost two hashes of 32
 * characters a transaction, where four characters name the slot.
 */
export class RecentHalves {
  readonly #ring: (HalfMessage | undefined)[] = new Array<HalfMessage | undefined>(SIZE).fill(undefined);
  #size = 0;

  add(half: HalfMessage): void {
    const slot = slotOf(half.msgId);
    if (this.#ring[slot] === undefined) this.#size++;
    this.#ring[slot] = half;
  }

  /** The half message with this id (exactly as prepare returned it), if it is still here. */
  get(transactionId: string): HalfMessage | undefined {
    const half = this.#ring[slotOf(transactionId)];
    return half !== undefined && half.msgId === transactionId ? half : undefined;
  }

  delete(half: HalfMessage): void {
    const slot = slotOf(half.msgId);
    if (this.#ring[slot] !== half) return;
    this.#ring[slot] = undefined;
    this.#size--;
  }

  get size(): number {
    return this.#size;
  }
}

/** The slot of an id (see msgIdSeqLow16). */
function slotOf(id: string): number {
  return msgIdSeqLow16(id) & MASK;
}
