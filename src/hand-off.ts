/**
 * Values handed from a producer to an async iterator: push() gives a value to a waiting next()
 * or keeps it; end() finishes every waiting and later next(). The delivery streams and
 * subscriptions of the adapters and the core are built on it.
 */
export class HandOff<T> {
  readonly #ready: T[] = [];
  readonly #waiting: ((r: IteratorResult<T>) => void)[] = [];
  #ended = false;

  get ended(): boolean {
    return this.#ended;
  }

  push(value: T): void {
    if (this.#ended) return;
    const w = this.#waiting.shift();
    if (w !== undefined) w({ done: false, value });
    else this.#ready.push(value);
  }

  /** Drops what was not taken yet. */
  clear(): void {
    this.#ready.length = 0;
  }

  end(): void {
    this.#ended = true;
    this.#ready.length = 0;
    for (const w of this.#waiting.splice(0)) w({ done: true, value: undefined });
  }

  /** An iterator over the values; `onReturn` runs when a consumer stops early (break). */
  iterator(onReturn: () => unknown): AsyncIterator<T> {
    return {
      next: () => {
        const v = this.#ready.shift();
        if (v !== undefined) return Promise.resolve({ done: false, value: v });
        if (this.#ended) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.#waiting.push(resolve));
      },
      return: async () => {
        await onReturn();
        return { done: true, value: undefined };
      },
    };
  }
}
