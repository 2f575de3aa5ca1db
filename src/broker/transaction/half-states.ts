import type { TxOp } from './tx-records.js';

const OPS: readonly (TxOp | undefined)[] = [undefined, 'COMMIT', 'ROLLBACK', 'CHECKED', 'DISCARDED'];
const CODE: Readonly<Record<TxOp, number>> = { COMMIT: 1, ROLLBACK: 2, CHECKED: 3, DISCARDED: 4 };

/**
 * What the op records say about each half message, by its queue offset in the half topic: one
 * byte each, plus the check count of those checked. A Map entry per transaction cost more than
 * the rest of a commit's bookkeeping and was never dropped; here the bytes of half messages that
 * retention removed from the log are let go (a resolution of one of them finds no half message).
 */
export class HalfStates {
  #base = 0;
  #ops = new Uint8Array(4096);
  readonly #checks = new Map<number, number>();

  op(half: number): TxOp | undefined {
    const i = half - this.#base;
    return i >= 0 && i < this.#ops.length ? OPS[this.#ops[i] as number] : undefined;
  }

  checkTimes(half: number): number {
    return this.#checks.get(half) ?? 0;
  }

  set(half: number, op: TxOp, checkTimes: number): void {
    const i = half - this.#base;
    if (i < 0) return; // below what is kept: its half message is gone from the log
    if (i >= this.#ops.length) {
      const grown = new Uint8Array(Math.max(this.#ops.length * 2, i + 1));
      grown.set(this.#ops);
      this.#ops = grown;
    }
    this.#ops[i] = CODE[op];
    if (checkTimes > 0) this.#checks.set(half, checkTimes);
    else this.#checks.delete(half);
  }

  /** Forgets the half messages below `min` (removed from the log), once that frees enough. */
  dropBelow(min: number): void {
    const n = min - this.#base;
    if (n < 65_536 || n < this.#ops.length / 2) return;
    this.#ops = this.#ops.slice(Math.min(n, this.#ops.length));
    if (this.#ops.length < 4096) this.#ops = new Uint8Array(4096);
    this.#base = min;
    for (const half of this.#checks.keys()) if (half < min) this.#checks.delete(half);
  }
}
