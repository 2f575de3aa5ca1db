/**
 * Sends over the gRPC proxy, each message alone with the message group that takes it to the
 * queue the core named (queue-groups.ts). A batch's messages of one queue go one after another
 * (the proxy may store concurrent sends of one group out of order), the queues in parallel;
 * concurrent batches are not held up by each other. A send resolves once every message of it
 * is confirmed (the proxy answers after the broker stored it).
 */
import type { Producer } from 'rocketmq-client-nodejs';
import { Prop } from '../../src/broker/index.js';
import type { OutboundMessage, SendReceipt } from '../spi.js';
import { toMessage } from './codec.js';
import { groupFor } from './queue-groups.js';
import { rocketmqError } from './rocketmq-errors.js';

export class Publisher {
  readonly #producer: Producer;
  readonly #backend: string;

  constructor(producer: Producer, backend: string) {
    this.#producer = producer;
    this.#backend = backend;
  }

  /** `queues`: the topic's write queue count (what the proxy hashes a group over). */
  async send(topic: string, queues: number, batch: readonly OutboundMessage[]): Promise<SendReceipt[]> {
    const receipts: SendReceipt[] = new Array<SendReceipt>(batch.length);
    const byQueue = new Map<number, number[]>();
    batch.forEach((m, i) => byQueue.set(m.queueId, [...(byQueue.get(m.queueId) ?? []), i]));
    await Promise.all(
      [...byQueue.values()].map(async (indexes) => {
        for (const i of indexes) {
          const m = batch[i] as OutboundMessage;
          const group = groupFor(m.queueId, queues, m.properties[Prop.SHARDING_KEY]);
          try {
            const r = await this.#producer.send(toMessage(topic, m, group));
            receipts[i] = { queueOffset: Number(r.offset ?? -1) };
          } catch (err) {
            throw rocketmqError(err, this.#backend, `send to "${topic}"`);
          }
        }
      }),
    );
    return receipts;
  }
}
