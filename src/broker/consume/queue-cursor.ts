/**
 * Where one consumer group (or, broadcasting, one client of it) stands on one queue.
 *
 * ```
 *   ackOffset                         popOffset
 *      |  in flight | done | released |   never handed out ...      maxOffset
 *      v                               v
 *   ---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---
 * ```
 * Every offset below `ackOffset` is finished: acked, moved to the retry or dead-letter topic,
 * or skipped by the filter. Between the two, each offset is in exactly one of: in flight
 * (handed out, invisible until `visibleAt`), done (finished out of order), or released (to be
 * handed out again before `popOffset`, e.g. after its consumer left). `ackOffset` is the
 * group's committed offset. Changes go through {@link ConsumerState}, which journals them.
 */
export interface Inflight {
  /** When the message becomes visible again (ms since the epoch). */
  visibleAt: number;
  /** Changes with every hand-out and every change of the invisible time: old handles stop working. */
  version: number;
  /** Times this offset was handed out again in place (orderly and broadcasting groups). */
  redeliveries: number;
  /** The push subscription holding it; absent for POP receives. */
  owner: string | undefined;
  /** The revive entry standing for this hand-out (in memory only, never persisted). */
  due?: DueTicket | undefined;
}

/** A revive entry's count of hand-outs not yet settled: at 0 it leaves the queue early. */
export interface DueTicket {
  live: number;
}

export interface CursorKey {
  readonly group: string;
  /** The consumer client for broadcasting groups; '' for clustering. */
  readonly client: string;
  /** The topic as stored (a user topic or the group's `%RETRY%` topic). */
  readonly topic: string;
  readonly queueId: number;
  /**
   * For the group's retry topic: the user topic whose retries this cursor takes ('' otherwise).
   * One `%RETRY%{group}` holds the retries of every topic the group consumes; each topic reads
   * it with a cursor of its own and skips the others' messages.
   */
  readonly retryOf: string;
}

export function cursorId(k: CursorKey): string {
  return `${k.group}\u0001${k.client}\u0001${k.topic}\u0001${k.queueId}\u0001${k.retryOf}`;
}

export class QueueCursor {
  readonly key: CursorKey;
  readonly id: string;
  /** A number for the cursor, unique in the broker and kept across restarts (receipt handles name it). */
  readonly no: number;
  ackOffset: number;
  popOffset: number;
  readonly inflight = new Map<number, Inflight>();
  readonly done = new Set<number>();
  /** Sorted ascending. */
  released: number[] = [];

  constructor(key: CursorKey, offset: number, no: number) {
    this.key = key;
    this.id = cursorId(key);
    this.no = no;
    this.ackOffset = offset;
    this.popOffset = offset;
  }

  /** Moves the cursor to `offset`, forgetting everything in flight. */
  reset(offset: number): void {
    this.ackOffset = offset;
    this.popOffset = offset;
    this.inflight.clear();
    this.done.clear();
    this.released = [];
  }

  take(offset: number, state: Inflight): void {
    if (offset < this.ackOffset) return;
    this.inflight.set(offset, state);
    this.done.delete(offset);
    this.#unrelease(offset);
    // Offsets jumped over are skipped by the caller in the same step (see ConsumerState.take).
    if (offset >= this.popOffset) this.popOffset = offset + 1;
  }

  /** Marks [from, to) finished except what is in flight (a filter skipped them). */
  skip(from: number, to: number): void {
    for (let o = Math.max(from, this.ackOffset); o < to; o++) {
      if (this.inflight.has(o)) continue;
      this.done.add(o);
      this.#unrelease(o);
    }
    if (to > this.popOffset) this.popOffset = to;
    this.#advance();
  }

  /** Finishes one offset (acked, or moved to the retry or dead-letter topic). */
  finish(offset: number): void {
    if (offset < this.ackOffset) return;
    this.inflight.delete(offset);
    this.#unrelease(offset);
    if (offset === this.ackOffset && offset < this.popOffset) {
      // the usual in-order ack: the committed offset moves on without a trip through `done`
      if (this.done.size > 0) this.done.delete(offset);
      this.ackOffset++;
      this.#advance();
      return;
    }
    this.done.add(offset);
    if (offset >= this.popOffset) this.popOffset = offset + 1;
    this.#advance();
  }

  /** Puts an in-flight offset back to be handed out again (its consumer left). */
  release(offset: number): void {
    if (!this.inflight.delete(offset)) return;
    const i = this.released.findIndex((o) => o > offset);
    if (i === -1) this.released.push(offset);
    else this.released.splice(i, 0, offset);
  }

  /** The topic consumers asked for: the user topic, also for a cursor on the retry topic. */
  get userTopic(): string {
    return this.key.retryOf === '' ? this.key.topic : this.key.retryOf;
  }

  /** Lag: messages not finished, as the queue's max offset minus the committed offset. */
  lag(maxOffset: number): number {
    return Math.max(0, maxOffset - this.ackOffset);
  }

  #unrelease(offset: number): void {
    if (this.released.length === 0) return;
    const i = this.released.indexOf(offset);
    if (i !== -1) this.released.splice(i, 1);
  }

  #advance(): void {
    while (this.ackOffset < this.popOffset && this.done.has(this.ackOffset)) {
      this.done.delete(this.ackOffset);
      this.ackOffset++;
    }
  }
}
