/**
 * One partition as a group consumer holds it since the last join (or since kafkajs went back):
 * the offsets received and not yet under the committed offset, in order, and which of them are
 * acked, so that only the contiguous acked prefix is ever committed (Kafka keeps one offset per
 * partition: committing past a message not acked would lose it). A retry topic's partition also
 * holds the records whose time has not come (see group-consumer.ts).
 */
import type { StoredMessage } from '../../src/message/message.js';

export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** The highest offset received (-1: none yet). */
  last = -1;
  /** Deliveries of it out and not settled. */
  out = 0;
  /** Retry records received before they are due, in order, and the timer of the first. */
  readonly #held: { m: StoredMessage; due: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  readonly #order: number[] = [];
  readonly #acked = new Set<number>();
  readonly #attempts = new Map<number, number>();

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  static key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  /** A record arrived; false when it is not past the last one (kafkajs went back). */
  received(offset: number): boolean {
    if (offset <= this.last) return false;
    this.last = offset;
    this.#order.push(offset);
    return true;
  }

  /** Deliveries of the record so far (given back ones). */
  attempts(offset: number): number {
    return this.#attempts.get(offset) ?? 0;
  }

  givenBack(offset: number, attempt: number): void {
    this.#attempts.set(offset, attempt);
  }

  /** Marks a record done; answers the offset to commit when the acked prefix moved. */
  acked(offset: number): number | undefined {
    this.#attempts.delete(offset);
    this.#acked.add(offset);
    let commit: number | undefined;
    while (this.#order.length > 0 && this.#acked.delete(this.#order[0] as number))
      commit = (this.#order.shift() as number) + 1;
    return commit;
  }

  /** True while retry records wait here for their time. */
  get holding(): boolean {
    return this.#held.length > 0;
  }

  /**
   * Keeps a retry record until it is due; `onDue` gets the records whose time came, in order,
   * and whether any is still held (a partition's records come due in order: one delay level).
   */
  hold(m: StoredMessage, due: number, onDue: (due: StoredMessage[], holding: boolean) => void): void {
    this.#held.push({ m, due });
    if (this.#held.length === 1) this.#arm(onDue);
  }

  #arm(onDue: (due: StoredMessage[], holding: boolean) => void): void {
    const head = this.#held[0];
    if (head === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        const ready: StoredMessage[] = [];
        while (this.#held.length > 0 && (this.#held[0]?.due ?? 0) <= Date.now())
          ready.push((this.#held.shift() as { m: StoredMessage }).m);
        if (this.#held.length > 0) this.#arm(onDue);
        onDue(ready, this.#held.length > 0);
      },
      Math.max(0, head.due - Date.now()),
    );
  }

  /** Drops what is held and stops its timer (the state is dropped). */
  dispose(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#held.length = 0;
  }
}
