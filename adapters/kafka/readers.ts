/**
 * The adapter's topic readers (topic-reader.ts), one per topic read by offset, made on first use
 * and dropped when they leave (idle, crashed, or the topic grew): a pull, a key query's body, a
 * look into a DLQ.
 */
import type { Kafka } from 'kafkajs';
import type { StoredMessage } from '../../src/message/message.js';
import { TopicReader } from './topic-reader.js';

export class Readers {
  readonly #kafka: Kafka;
  readonly #byTopic = new Map<string, TopicReader>();

  constructor(kafka: Kafka) {
    this.#kafka = kafka;
  }

  #reader(topic: string): TopicReader {
    const known = this.#byTopic.get(topic);
    if (known !== undefined && !known.closed) return known;
    const r: TopicReader = new TopicReader(this.#kafka, topic, () => {
      if (this.#byTopic.get(topic) === r) this.#byTopic.delete(topic);
    });
    this.#byTopic.set(topic, r);
    return r;
  }

  /** Up to `max` records of a partition from `offset`, stopping at `end` (its high watermark). */
  async read(
    topic: string,
    partition: number,
    offset: number,
    max: number,
    end: number,
  ): Promise<StoredMessage[]> {
    if (offset >= end || max <= 0) return [];
    try {
      return await this.#reader(topic).read(partition, offset, max, end);
    } catch {
      // the reader went (it crashed, or the topic grew past its assignment): once more anew
      return this.#reader(topic).read(partition, offset, max, end);
    }
  }

  /** Stops the reader of a topic (it is deleted), or every reader. */
  async close(topic?: string): Promise<void> {
    const list = topic === undefined ? [...this.#byTopic.values()] : [this.#byTopic.get(topic)];
    await Promise.all(list.map((r) => r?.close()));
  }
}
