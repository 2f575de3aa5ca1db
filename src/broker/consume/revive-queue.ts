import type { DueTicket, QueueCursor } from './queue-cursor.js';

/** Hand-outs of one cursor that become visible again at the same time. */
export interface DueItem extends DueTicket {
  readonly cursor: QueueCursor;
  readonly offsets: number[];
  readonly versions: number[];
  entry?: Due<DueItem> | undefined;
}

/** A revive entry for one hand-out. */
export function due(cursor: QueueCursor, offset: number, version: number): DueItem {
  return { cursor, offsets: [offset], versions: [version], live: 1 };
}

/** One moment something in flight becomes visible again; `pos` is its place in the heap. */
export interface Due<T> {
  readonly at: number;
  readonly item: T;
  /** Index in the heap; -1 once out of it. */
  pos: number;
}

/**
 * A min-heap of due times with one timer for the earliest (the revive service). An entry can be
 * removed early (every message it stands for was settled), so entries of deliveries acked in
 * time die young instead of waiting out their invisible time in memory; when one comes due the
 * caller still checks that it applies (a message given a new invisible time carries a new
 * version).
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

  push(at: number, item: T): Due<T> {
    const d: Due<T> = { at, item, pos: this.#heap.length };
    this.#heap.push(d);
    this.#up(d.pos);
    if (at < this.#timerAt) this.#arm();
    return d;
  }

  /** Takes an entry out before it is due (no-op when it is out already). */
  remove(d: Due<T>): void {
    const h = this.#heap;
    const i = d.pos;
    if (i < 0 || h[i] !== d) return;
    d.pos = -1;
    const last = h.pop() as Due<T>;
    if (i === h.length) return;
    h[i] = last;
    last.pos = i;
    this.#down(this.#up(i));
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #swap(a: number, b: number): void {
    const h = this.#heap;
    const x = h[a] as Due<T>;
    const y = h[b] as Due<T>;
    h[a] = y;
    h[b] = x;
    y.pos = a;
    x.pos = b;
  }

  #up(i: number): number {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as Due<T>).at <= (h[i] as Due<T>).at) break;
      this.#swap(p, i);
      i = p;
    }
    return i;
  }

  #down(i: number): void {
    const h = this.#heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && (h[l] as Due<T>).at < (h[m] as Due<T>).at) m = l;
      if (r < h.length && (h[r] as Due<T>).at < (h[m] as Due<T>).at) m = r;
      if (m === i) return;
      this.#swap(m, i);
      i = m;
    }
  }

  #pop(): Due<T> | undefined {
    const top = this.#heap[0];
    if (top !== undefined) this.remove(top);
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
