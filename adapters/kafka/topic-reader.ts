/**
 * Reads a topic's partitions by offset. kafkajs has no consumer without a group (no `assign()`),
 * and a new group's first join waits the broker's `group.initial.rebalance.delay.ms` (3 s by
 * default), so a reader is a consumer in a group of its own that joins once and stays while it is
 * used: every partition paused; a read seeks one partition to the offset, resumes it, takes
 * records until it has `max` or reached `end` (the high watermark it was told), and pauses it
 * again. Reads of one topic go one at a time; a reader idle for a minute leaves.
 */
import { randomBytes } from 'node:crypto';
import type { Batch, Consumer, Kafka } from 'kafkajs';
import type { StoredMessage } from '../../src/message/message.js';
import { decode } from './codec.js';

/** Gives up on records that do not come (a gap of aborted or compacted records at the end). */
const READ_TIMEOUT_MS = 5000;
/** How long a reader waits for its group join. */
const JOIN_TIMEOUT_MS = 30_000;
/** A reader not used for this long leaves its group. */
const IDLE_MS = 60_000;

interface Read {
  readonly partition: number;
  readonly offset: number;
  readonly max: number;
  readonly end: number;
  readonly got: StoredMessage[];
  readonly done: () => void;
}

export class TopicReader {
  readonly topic: string;
  readonly #consumer: Consumer;
  readonly #joined: Promise<number[]>;
  #chain: Promise<unknown> = Promise.resolve();
  #read: Read | undefined;
  #idle: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onClose: () => void;

  constructor(kafka: Kafka, topic: string, onClose: () => void) {
    this.topic = topic;
    this.#onClose = onClose;
    const consumer = (this.#consumer = kafka.consumer({
      groupId: `mqgate-read-${randomBytes(8).toString('hex')}@${topic}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
    }));
    this.#joined = new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no group join within ${JOIN_TIMEOUT_MS} ms`)),
        JOIN_TIMEOUT_MS,
      );
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        consumer.pause([{ topic }]);
        clearTimeout(timer);
        resolve(payload.memberAssignment[topic] ?? []);
      });
      // a fetch of only transaction markers or aborted records (a transactional topic's end)
      // calls no eachBatch: its end is told here, else a read up to it would wait for its timeout
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
        const r = this.#read;
        if (r !== undefined && payload.topic === topic && payload.partition === r.partition)
          if (Number(payload.lastOffset) + 1 >= r.end) r.done();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        clearTimeout(timer);
        reject(payload.error);
        void this.close();
      });
      consumer
        .connect()
        .then(() => consumer.subscribe({ topic, fromBeginning: true }))
        .then(() => consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => this.#batch(batch) }))
        .catch((err: unknown) => {
          clearTimeout(timer);
          reject(err);
        });
    });
    this.#joined.catch(() => void this.close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Up to `max` records of `partition` from `offset`, stopping at `end`; one read at a time. */
  read(partition: number, offset: number, max: number, end: number): Promise<StoredMessage[]> {
    const next = this.#chain.then(() => this.#readNow(partition, offset, max, end));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #readNow(partition: number, offset: number, max: number, end: number): Promise<StoredMessage[]> {
    const assigned = await this.#joined;
    if (!assigned.includes(partition)) {
      // the topic grew since this reader joined: the next reader sees the new partition
      void this.close();
      throw new Error(`partition ${partition} is not assigned to this reader`);
    }
    if (this.#idle !== undefined) clearTimeout(this.#idle);
    const got: StoredMessage[] = [];
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, READ_TIMEOUT_MS);
        this.#read = { partition, offset, max, end, got, done: () => (clearTimeout(timer), resolve()) };
        this.#consumer.seek({ topic: this.topic, partition, offset: String(offset) });
        this.#consumer.resume([{ topic: this.topic, partitions: [partition] }]);
      });
    } finally {
      this.#read = undefined;
      this.#consumer.pause([{ topic: this.topic }]);
      this.#idle = setTimeout(() => void this.close(), IDLE_MS);
      this.#idle.unref();
    }
    return got;
  }

  #batch(batch: Batch): void {
    const r = this.#read;
    if (r === undefined || batch.partition !== r.partition) return;
    for (const m of batch.messages) {
      if (Number(m.offset) < r.offset || r.got.length >= r.max) continue;
      r.got.push(decode(this.topic, r.partition, m));
    }
    const last = r.got.at(-1)?.queueOffset ?? Number(batch.lastOffset());
    if (r.got.length >= r.max || last + 1 >= r.end || Number(batch.lastOffset()) + 1 >= r.end) r.done();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#idle !== undefined) clearTimeout(this.#idle);
    this.#read?.done();
    this.#onClose();
    await this.#consumer.disconnect().catch(() => undefined);
  }
}
