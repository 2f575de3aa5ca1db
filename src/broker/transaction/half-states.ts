import type { TxOp } from './tx-records.js';

const OPS: readonly (TxOp | undefined)[] = [undefined, 'COMMIT', 'ROLLBACK', 'CHECKED', 'DISCARDED'];
const CODE: Readonly<Record<TxOp, number>> = { COMMIT: 1, ROLLBACK: 2, CHECKED: 3, DISCARDED: 4 };
/** The bit of a half message's byte that says a resolution is being written. */
const BUSY = 0x80;

/**
 * What the op records say about each half message, by its queue offset in the half topic: one
 * byte each, plus the check count of those checked. A Map entry per transaction cost more than
 * the rest of a commit's bookkeeping and was never dropped; here the bytes of half messages that
 * retention removed from the log are let go (a resolution of one of them finds no half message).
 * The byte also says whether a resolution is being written (a bit, not a Set: this runs for
 * every transaction).
 */
export class HalfStates {
  #base = 0;
  #ops = new Uint8Array(4096);
  readonly #checks = new Map<number, number>();
  /** Busy half messages below what is kept (gone from the log: rare). */
  readonly #busyBelow = new Set<number>();

  op(half: number): TxOp | undefined {
    const i = half - this.#base;
    return i >= 0 && i < this.#ops.length ? OPS[(this.#ops[i] as number) & ~BUSY] : undefined;
  }

  /** Whether a resolution of this half message is being written. */
  busy(half: number): boolean {
    const i = half - this.#base;
    if (i < 0) return this.#busyBelow.has(half);
    return i < this.#ops.length && ((this.#ops[i] as number) & BUSY) !== 0;
  }

  setBusy(half: number, busy: boolean): void {
    const i = half - this.#base;
    if (i < 0) {
      if (busy) this.#busyBelow.add(half);
      else this.#busyBelow.delete(half);
      return;
    }
    this.#room(i);
    this.#ops[i] = busy ? (this.#ops[i] as number) | BUSY : (this.#ops[i] as number) & ~BUSY;
  }

  #room(i: number): void {
    if (i < this.#ops.length) return;
    const grown = new Uint8Array(Math.max(this.#ops.length * 2, i + 1));
    grown.set(this.#ops);
    this.#ops = grown;
  }

  checkTimes(half: number): number {
    return this.#checks.get(half) ?? 0;
  }

  set(half: number, op: TxOp, checkTimes: number): void {
    const i = half - this.#base;
    if (i < 0) return; // below what is kept: its half message is gone from the log
    this.#room(i);
    this.#ops[i] = ((this.#ops[i] as number) & BUSY) | CODE[op];
    if (checkTimes > 0) this.#checks.set(half, checkTimes);
    else if (this.#checks.size > 0) this.#checks.delete(half);
  }

  /** Forgets the half messages below `min` (removed from the log), once that frees enough. */
  dropBelow(min: number): void {
    const n = min - this.#base;
    if (n < 65_536 || n < this.#ops.length / 2) return;
    const dropped = Math.min(n, this.#ops.length);
    for (let i = 0; i < dropped; i++)
      if (((this.#ops[i] as number) & BUSY) !== 0) this.#busyBelow.add(this.#base + i);
    const kept = this.#ops.subarray(dropped);
    this.#ops = new Uint8Array(Math.max(4096, kept.length));
    this.#ops.set(kept);
    this.#base = min;
    for (const half of this.#checks.keys()) if (half < min) this.#checks.delete(half);
  }
}
