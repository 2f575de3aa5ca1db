/**
 * A group consumer's commits: each partition's offset after its contiguous acked prefix, gathered
 * for a moment and committed together, one commit at a time. A commit that fails (a rebalance took
 * the partition, the broker is away) is tried again while the same join lasts; a new join drops
 * what was not committed (the partition is read again from its last commit: at least once).
 */
import type { Logger } from 'pino';

/** How long acks gather before their offsets are committed. */
const COMMIT_EVERY_MS = 50;
/** How long a failed commit waits before the next try. */
const RETRY_MS = 500;

export type TopicOffset = { topic: string; partition: number; offset: number };

export interface OffsetCommitsOptions {
  readonly group: string;
  readonly topic: string;
  readonly logger: Logger;
  /** Commits through the current consumer (throws when there is none or it is not in the group). */
  readonly commit: (offsets: TopicOffset[]) => Promise<void>;
}

export class OffsetCommits {
  readonly #o: OffsetCommitsOptions;
  #dirty = new Map<string, TopicOffset>();
  /** Bumped by reset(): a failed commit of before is not tried again. */
  #gen = 0;
  #timer: NodeJS.Timeout | undefined;
  #committing: Promise<void> = Promise.resolve();

  constructor(o: OffsetCommitsOptions) {
    this.#o = o;
  }

  /** Every message of the partition below `offset` is done. */
  set(topic: string, partition: number, offset: number): void {
    this.#dirty.set(`${topic}\u0000${partition}`, { topic, partition, offset });
    this.#schedule(COMMIT_EVERY_MS);
  }

  /** Forgets what a partition had to commit (it is read again from its last commit). */
  drop(topic: string, partition: number): void {
    this.#dirty.delete(`${topic}\u0000${partition}`);
  }

  /** A new join: nothing of before is committed any more. */
  reset(): void {
    this.#gen++;
    this.#dirty = new Map();
  }

  /** Commits what is waiting now (before leaving the group). */
  flush(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#committing = this.#committing.then(() => this.#commit());
    return this.#committing;
  }

  #schedule(ms: number): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#committing = this.#committing.then(() => this.#commit());
    }, ms);
    this.#timer.unref();
  }

  async #commit(): Promise<void> {
    if (this.#dirty.size === 0) return;
    const gen = this.#gen;
    const dirty = this.#dirty;
    this.#dirty = new Map();
    try {
      await this.#o.commit([...dirty.values()]);
    } catch (err) {
      this.#o.logger.debug({ err, group: this.#o.group, topic: this.#o.topic }, 'commit failed');
      if (gen !== this.#gen) return;
      for (const [p, o] of dirty) if (!this.#dirty.has(p)) this.#dirty.set(p, o);
      this.#schedule(RETRY_MS);
    }
  }
}
