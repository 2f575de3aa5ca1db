/**
 * One queue as a group consumes it by offset (a log: the bare backend, a RabbitMQ stream):
 * the committed offset (every message below it is done), the next offset to read, what is out,
 * what was acked ahead of the committed offset, and what was given back to be read again.
 */
export class QueueState {
  /** Bumped when the queue is moved (reset, restart): deliveries of an older one settle nothing. */
  gen = 0;
  next: number;
  committed: number;
  readonly out = new Set<number>();
  readonly ackedAhead = new Set<number>();
  readonly redo: number[] = [];
  readonly attempts = new Map<number, number>();

  constructor(offset: number) {
    this.next = offset;
    this.committed = offset;
  }

  moveTo(offset: number): void {
    this.gen++;
    this.next = this.committed = offset;
    this.out.clear();
    this.ackedAhead.clear();
    this.redo.length = 0;
    this.attempts.clear();
  }

  /** An ack of `offset`: answers whether the committed offset moved (over the contiguous acked prefix). */
  ack(offset: number): boolean {
    this.attempts.delete(offset);
    if (offset !== this.committed) {
      this.ackedAhead.add(offset);
      return false;
    }
    this.committed++;
    while (this.ackedAhead.delete(this.committed)) this.committed++;
    return true;
  }
}
