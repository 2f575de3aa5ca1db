/** One moment a message in flight becomes visible again. */
export interface Due<T> {
  readonly at: number;
  readonly item: T;
}

/**
 * A min-heap of due times with one timer for the earliest (the revive service). Entries are
 * never removed early: the caller checks, when one is due, whether it still applies (a message
 * acked or given a new invisible time since carries a new version).
 */
export class DueQueue<T> {
  readonly #heap: Due<T>[] = [];
  readonly #onDue: (items: T[]) => void;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #stopped = false;

  constructor(onDue: (items: T[]) => void) {
    this.#onDue = onDue;
  }

  get size(): number {
    return this.#heap.length;
  }

  push(at: number, item: T): void {
    const h = this.#heap;
    h.push({ at, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as Due<T>;
      const node = h[i] as Due<T>;
      if (parent.at <= node.at) break;
      h[p] = node;
      h[i] = parent;
      i = p;
    }
    if (at < this.#timerAt) this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #pop(): Due<T> | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && (h[l] as Due<T>).at < (h[m] as Due<T>).at) m = l;
      if (r < h.length && (h[r] as Due<T>).at < (h[m] as Due<T>).at) m = r;
      if (m === i) break;
      const t = h[m] as Due<T>;
      h[m] = h[i] as Due<T>;
      h[i] = t;
      i = m;
    }
    return top;
  }

  #arm(): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const first = this.#heap[0];
    if (first === undefined) {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    this.#timerAt = first.at;
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, first.at - Date.now()));
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = Date.now();
    const due: T[] = [];
    while (this.#heap.length > 0 && (this.#heap[0] as Due<T>).at <= now)
      due.push((this.#pop() as Due<T>).item);
    this.#arm();
    if (due.length > 0) this.#onDue(due);
  }
}
