/**
 * Idempotency keys (header `Idempotency-Key`): the first request with a key keeps its answer; a
 * repeat within the window gets the same answer, also while the first is still in flight (it
 * shares the first's promise). A first request that fails is forgotten, so that a retry can
 * succeed. Bounded: past `maxKeys` the oldest key is evicted. `maxKeys` 0 turns it off.
 */
export interface IdempotencyOptions {
  /** How long a key returns its first answer (ms). */
  readonly windowMs: number;
  /** Keys remembered at most. */
  readonly maxKeys: number;
}

interface Entry<T> {
  readonly at: number;
  readonly answer: Promise<T>;
}

/** Remembered answers by idempotency key, oldest first; see the module comment. */
export class IdempotencyCache<T> {
  readonly #o: IdempotencyOptions;
  /** In insertion order, which is also the order of `at`: the oldest first. */
  readonly #entries = new Map<string, Entry<T>>();

  constructor(o: IdempotencyOptions) {
    this.#o = o;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The answer for `key` in `scope` (a topic): the remembered one (`replayed`), or `make()`'s,
   * remembered now. Without a key, or with the cache off, just `make()`'s. A synchronous throw
   * of `make` becomes a rejected answer.
   */
  run(
    scope: string,
    idempotencyKey: string | undefined,
    make: () => Promise<T>,
  ): { answer: Promise<T>; replayed: boolean } {
    if (idempotencyKey === undefined || this.#o.maxKeys === 0 || this.#o.windowMs === 0)
      return { answer: new Promise<T>((resolve) => resolve(make())), replayed: false };
    const key = `${scope}\u0000${idempotencyKey}`;
    const now = Date.now();
    this.#expire(now);
    const hit = this.#entries.get(key);
    if (hit !== undefined) return { answer: hit.answer, replayed: true };
    const entry: Entry<T> = { at: now, answer: new Promise<T>((resolve) => resolve(make())) };
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#o.maxKeys) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    entry.answer.catch(() => {
      if (this.#entries.get(key) === entry) this.#entries.delete(key);
    });
    return { answer: entry.answer, replayed: false };
  }

  #expire(now: number): void {
    for (const [k, e] of this.#entries) {
      if (now - e.at < this.#o.windowMs) return;
      this.#entries.delete(k);
    }
  }
}
