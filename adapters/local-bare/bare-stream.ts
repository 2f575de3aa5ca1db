import type { StoredMessage } from '../../src/message/message.js';
import type { MessageStore } from '../../src/store/index.js';
import { HandOff } from '../../src/hand-off.js';
import type { Delivery, DeliveryStream } from '../spi.js';
import type { GroupPositions } from '../shared/group-positions.js';
import type { QueueState } from '../shared/queue-state.js';

/** What a stream needs of its adapter: the store while it is up, positions, a wake-up. */
export interface StreamSource {
  store(): MessageStore | undefined;
  positions(): GroupPositions;
  queueState(group: string, topic: string, queueId: number): Promise<QueueState>;
  /** Deliveries out and unsettled of the group on the topic (over every queue). */
  unsettled(group: string, topic: string): number;
  queues(topic: string): number;
}

/**
 * A group's consumer of one topic on the bare backend, as a Kafka consumer: reads each queue
 * from the group's committed offset, hands out at most `credit` unsettled deliveries, commits
 * the contiguous acked prefix; a released delivery is read again (deliveryAttempt + 1).
 */
export class BareStream implements DeliveryStream {
  readonly #src: StreamSource;
  readonly #group: string;
  readonly #topic: string;
  readonly #credit: number;
  readonly #out = new HandOff<Delivery>();
  #wake: (() => void) | undefined;
  #rr = 0;
  #closed = false;
  readonly #onClose: () => void;

  constructor(src: StreamSource, group: string, topic: string, credit: number, onClose: () => void) {
    this.#src = src;
    this.#onClose = onClose;
    this.#group = group;
    this.#topic = topic;
    this.#credit = credit;
    void this.#pump();
  }

  get topic(): string {
    return this.#topic;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** New messages, room, a restart or a reset: look again. */
  wake(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  /** The backend went down: what was handed out settles nothing now and comes again. */
  dropHandedOut(): void {
    this.#out.clear();
  }

  async #pump(): Promise<void> {
    while (!this.#closed) {
      const room = this.#credit - this.#src.unsettled(this.#group, this.#topic);
      const store = this.#src.store();
      let got = 0;
      if (room > 0 && store !== undefined)
        try {
          got = await this.#fill(store, room);
        } catch {
          got = 0; // closing under us: wait for the next wake-up
        }
      if (got === 0 && !this.#closed)
        await new Promise<void>((r) => {
          this.#wake = r;
          setTimeout(r, 1000).unref(); // and a look now and then, whatever happens
        });
    }
  }

  async #fill(store: MessageStore, room: number): Promise<number> {
    const n = this.#src.queues(this.#topic);
    let got = 0;
    for (let i = 0; i < n && got < room; i++) {
      const queueId = (this.#rr + i) % n;
      const q = await this.#src.queueState(this.#group, this.#topic, queueId);
      while (q.redo.length > 0 && got < room) {
        const offset = q.redo.shift() as number;
        const m = (await store.getMessages(this.#topic, queueId, offset, 1)).messages[0];
        if (m?.queueOffset === offset) this.#hand(q, m, (got++, q.gen));
      }
      if (got >= room || q.next >= store.maxOffset(this.#topic, queueId)) continue;
      const r = await store.getMessages(this.#topic, queueId, q.next, room - got);
      if (r.status === 'OFFSET_TOO_SMALL') q.moveTo(r.minOffset);
      const gen = q.gen;
      for (const m of r.messages) {
        this.#hand(q, m, gen);
        got++;
      }
      if (r.nextBeginOffset > q.next) q.next = r.nextBeginOffset;
    }
    this.#rr++;
    return got;
  }

  #hand(q: QueueState, m: StoredMessage, gen: number): void {
    const offset = m.queueOffset;
    q.out.add(offset);
    const attempt = (q.attempts.get(offset) ?? 0) + 1;
    let settled = false;
    const settle = (how: 'ack' | 'release'): Promise<boolean> => {
      if (settled || q.gen !== gen || !q.out.delete(offset)) return Promise.resolve(false);
      settled = true;
      if (how === 'ack') this.#acked(q, m);
      else {
        q.attempts.set(offset, attempt);
        q.redo.push(offset);
        q.redo.sort((a, b) => a - b);
      }
      this.wake();
      return Promise.resolve(true);
    };
    const d: Delivery = {
      message: m,
      deliveryAttempt: attempt,
      ack: () => settle('ack'),
      // the bare backend has no retry of its own (the core's): a nack gives the message back
      nack: () => settle('release'),
      release: () => settle('release'),
    };
    this.#out.push(d);
  }

  #acked(q: QueueState, m: StoredMessage): void {
    if (q.ack(m.queueOffset)) this.#src.positions().set(this.#group, this.#topic, m.queueId, q.committed);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    this.wake();
    this.#out.end();
    // what is out goes back: read again by the next stream of the group
    for (let queueId = 0; queueId < this.#src.queues(this.#topic); queueId++) {
      const q = await this.#src.queueState(this.#group, this.#topic, queueId);
      q.moveTo(q.committed);
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this.#out.iterator(() => this.close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
