/**
 * A RocketMQ 5 SimpleConsumer as the POP consumer behind a delivery stream
 * (adapters/shared/pop-stream.ts): receive with an invisible time, ack by receipt handle, and
 * give back by making the message visible at once (changeInvisibleDuration 0, after which the
 * broker delivers it again with deliveryAttempt + 1). The invisible time asked for is kept at the
 * broker in short renewed leases (held-views.ts), so that what a broker restart strands comes back
 * soon.
 */
import type { SimpleConsumer } from 'rocketmq-client-nodejs';
import type { Logger } from 'pino';
import type { ReceiveOptions, ReceivedMessage } from '../../src/broker/index.js';
import type { PopConsumer } from '../shared/pop-stream.js';
import { toStored } from './codec.js';
import { HeldViews, LEASE_MS } from './held-views.js';

const MAX_BATCH = 32;
/** The proxy's shortest invisible time for a receive (minInvisibleTimeMillsForRecv). */
const MIN_INVISIBLE_MS = 10_000;

export class SimplePop implements PopConsumer {
  readonly #consumer: SimpleConsumer;
  readonly #queues: () => number;
  readonly #log: Logger;
  /** What is out, by the receipt handle it was received with. */
  readonly #out: HeldViews;

  /** `queues`: the topic's write queue count now (a delivered message's queue is found from it). */
  constructor(consumer: SimpleConsumer, queues: () => number, log: Logger) {
    this.#consumer = consumer;
    this.#queues = queues;
    this.#log = log;
    this.#out = new HeldViews(consumer, log);
  }

  async receive(o: ReceiveOptions): Promise<ReceivedMessage[]> {
    const invisibleMs = Math.max(MIN_INVISIBLE_MS, o.invisibleMs ?? MIN_INVISIBLE_MS);
    const now = Date.now();
    const views = await this.#consumer.receive(
      Math.min(MAX_BATCH, o.maxMessages ?? MAX_BATCH),
      Math.min(invisibleMs, LEASE_MS), // the rest of invisibleMs in renewals
    );
    return views.map((v) => {
      this.#out.add(v.receiptHandle, v, now, invisibleMs);
      return {
        ...toStored(v, this.#queues()),
        deliveryAttempt: v.deliveryAttempt ?? 1,
        receiptHandle: v.receiptHandle,
        invisibleUntil: now + invisibleMs,
        storeTopic: v.topic,
      };
    });
  }

  async ack(handle: string): Promise<void> {
    const v = await this.#out.take(handle);
    if (v !== undefined) await this.#consumer.ack(v);
  }

  /** The core keeps retries on this backend (retry is not native yet): a nack gives it back. */
  nack(handle: string): Promise<void> {
    return this.release(handle);
  }

  async release(handle: string): Promise<void> {
    const v = await this.#out.take(handle);
    if (v === undefined) return;
    await this.#consumer.changeInvisibleDuration(v, 0).catch((err: unknown) => {
      // its invisible time runs out by itself: delivered again then
      this.#log.debug({ err, msgId: v.messageId }, 'giving a message back failed');
    });
  }

  /** Ends the renewals (the consumer is closing: what is out was given back). */
  close(): void {
    this.#out.close();
  }
}
