/**
 * A min-heap of (due time, queue offset) pairs in two typed arrays: the scheduler's in-memory
 * index of pending timers. 16 bytes a timer and no object per entry, so 100k timers cost about
 * 1.6 MB and nothing for the garbage collector to trace; the messages stay on disk.
 */
export class TimerHeap {
  #due = new Float64Array(1024);
  #off = new Float64Array(1024);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The earliest due time, or Infinity. */
  get nextDue(): number {
    return this.#size === 0 ? Infinity : (this.#due[0] as number);
  }

  push(due: number, offset: number): void {
    if (this.#size === this.#due.length) {
      const due2 = new Float64Array(this.#due.length * 2);
      const off2 = new Float64Array(this.#off.length * 2);
      due2.set(this.#due);
      off2.set(this.#off);
      this.#due = due2;
      this.#off = off2;
    }
    let i = this.#size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((this.#due[p] as number) <= due) break;
      this.#due[i] = this.#due[p] as number;
      this.#off[i] = this.#off[p] as number;
      i = p;
    }
    this.#due[i] = due;
    this.#off[i] = offset;
  }

  /** Removes the earliest entry and returns its queue offset. */
  pop(): number {
    const top = this.#off[0] as number;
    const n = --this.#size;
    const due = this.#due[n] as number;
    const off = this.#off[n] as number;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && (this.#due[r] as number) < (this.#due[l] as number) ? r : l;
      if ((this.#due[m] as number) >= due) break;
      this.#due[i] = this.#due[m] as number;
      this.#off[i] = this.#off[m] as number;
      i = m;
    }
    this.#due[i] = due;
    this.#off[i] = off;
    return top;
  }
}
