import type { ReceiveOptions, ReceivedMessage } from '../../src/broker/index.js';
import { HandOff } from '../../src/hand-off.js';
import type { Delivery, DeliveryStream } from '../spi.js';

/** What a POP consumer offers: receive, and settling by receipt handle. */
export interface PopConsumer {
  receive(o: ReceiveOptions): Promise<ReceivedMessage[]>;
  ack(handle: string): void | Promise<void>;
  nack(handle: string, o: { delayLevel?: number }): Promise<unknown>;
  release(handle: string): void | Promise<void>;
}

/** How long a delivery of the stream stays invisible to the group before it goes out again. */
const HOLD_MS = 300_000;
/** Each receive long-polls this long, so a close is noticed soon. */
const POLL_MS = 1000;

/**
 * A delivery stream over a POP consumer: the embedded log's consume() primitive. At most
 * `credit` deliveries are out unsettled; each is held invisible (HOLD_MS) until settled; close
 * gives back what is unsettled.
 */
export class PopStream implements DeliveryStream {
  readonly #pop: PopConsumer;
  readonly #topic: string;
  readonly #credit: number;
  readonly #out = new HandOff<Delivery>();
  readonly #unsettled = new Set<string>();
  readonly #abort = new AbortController();
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #pumping: Promise<void>;
  #roomMade: (() => void) | undefined;
  #closed = false;

  /** `onClose`: what else closing the stream ends (a broker consumer of its own). */
  constructor(pop: PopConsumer, topic: string, credit: number, onClose?: () => Promise<void>) {
    this.#pop = pop;
    this.#topic = topic;
    this.#credit = credit;
    this.#onClose = onClose;
    this.#pumping = this.#pump();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #pump(): Promise<void> {
    while (!this.#closed) {
      const room = this.#credit - this.#unsettled.size;
      if (room <= 0) {
        await new Promise<void>((r) => (this.#roomMade = r));
        continue;
      }
      let got: ReceivedMessage[];
      try {
        got = await this.#pop.receive({
          topic: this.#topic,
          maxMessages: Math.min(32, room),
          invisibleMs: HOLD_MS,
          waitMs: POLL_MS,
          signal: this.#abort.signal,
        });
      } catch {
        if (this.#closed) return;
        await new Promise((r) => setTimeout(r, POLL_MS)); // the broker is closing or refused: later
        continue;
      }
      for (const m of got) {
        if (this.#closed)
          await this.#giveBack(m.receiptHandle); // taken as the stream closed: back at once
        else this.#hand(this.#delivery(m));
      }
    }
  }

  #hand(d: Delivery): void {
    this.#out.push(d);
  }

  #delivery(message: ReceivedMessage): Delivery {
    const handle = message.receiptHandle;
    this.#unsettled.add(handle);
    const settle = (fn: () => unknown): Promise<boolean> => {
      if (!this.#unsettled.delete(handle)) return Promise.resolve(false);
      this.#roomMade?.();
      this.#roomMade = undefined;
      return Promise.resolve()
        .then(fn)
        .then(
          () => true,
          () => false, // its invisible time passed meanwhile: it goes out again anyway
        );
    };
    return {
      message,
      deliveryAttempt: message.deliveryAttempt,
      ack: () => settle(() => this.#pop.ack(handle)),
      nack: (o = {}) => settle(() => this.#pop.nack(handle, o)),
      release: () => settle(() => this.#pop.release(handle)),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    this.#roomMade?.();
    this.#out.end();
    const unsettled = [...this.#unsettled];
    this.#unsettled.clear();
    await Promise.all(unsettled.map((h) => this.#giveBack(h)));
    // a receive under way may still bring messages: they go back before the consumer ends
    await this.#pumping;
    await this.#onClose?.();
  }

  /** Gives a delivery back to the broker; one whose invisible time passed is back already. */
  async #giveBack(handle: string): Promise<void> {
    try {
      await this.#pop.release(handle);
    } catch {
      // expired already: back in the queue by itself
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this.#out.iterator(() => this.close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
