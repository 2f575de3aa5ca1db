/**
 * Long polling: receives that found nothing wait here until a message arrives on one of their
 * topics (the store calls {@link LongPoll.notify} as it dispatches), a message becomes visible
 * again, or their time is up. No busy loop: a waiter is a promise and a timer.
 */
interface Waiter {
  readonly topics: readonly string[];
  readonly wake: () => void;
}

export class LongPoll {
  readonly #byTopic = new Map<string, Set<Waiter>>();

  /** Resolves true when woken, false at the timeout or when `signal` aborts. */
  wait(topics: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (timeoutMs <= 0 || signal?.aborted === true) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (woken: boolean): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        for (const t of topics) {
          const set = this.#byTopic.get(t);
          set?.delete(waiter);
          if (set?.size === 0) this.#byTopic.delete(t);
        }
        resolve(woken);
      };
      const onAbort = (): void => done(false);
      const waiter: Waiter = { topics, wake: () => done(true) };
      const timer = setTimeout(() => done(false), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      for (const t of topics) {
        let set = this.#byTopic.get(t);
        if (set === undefined) this.#byTopic.set(t, (set = new Set()));
        set.add(waiter);
      }
    });
  }

  /** Wakes every waiter of `topic`. */
  notify(topic: string): void {
    const set = this.#byTopic.get(topic);
    if (set === undefined) return;
    for (const w of [...set]) w.wake();
  }

  /** Wakes everyone (close). */
  notifyAll(): void {
    for (const set of [...this.#byTopic.values()]) for (const w of [...set]) w.wake();
  }
}
