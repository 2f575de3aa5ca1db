/**
 * A group's consumer of one topic on Kafka, as the adapter contract's delivery stream: a kafkajs
 * consumer in the Kafka group of the same name (so Kafka splits the partitions among every
 * gateway's consumers of the group), with auto-commit off. At most `credit` deliveries are out;
 * what the fetches bring beyond that waits here, and past `credit` waiting the topic is paused
 * (kafkajs fetches it again from there on resume). An ack commits only the contiguous acked
 * prefix of its partition (Kafka keeps one offset per partition); a release is handed out again
 * from memory (deliveryAttempt + 1). A rebalance, a reconnect or a restart reads every
 * partition again from its committed offset, and deliveries of before settle nothing: what was
 * unsettled comes again (at least once). kafkajs also goes back by itself (a rejoin from inside a
 * fetch, after stale metadata); a record at or below the last one seen of its partition starts
 * that partition afresh the same way, so no offset is ever committed over one not acked.
 */
import { createHash } from 'node:crypto';
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { HandOff } from '../../src/hand-off.js';
import type { StoredMessage } from '../../src/message/message.js';
import type { Delivery, DeliveryStream } from '../spi.js';
import { decode } from './codec.js';
import { OffsetCommits } from './offset-commits.js';

export interface GroupConsumerOptions {
  readonly kafka: Kafka;
  readonly group: string;
  readonly topic: string;
  readonly credit: number;
  /** Before each join: sets where partitions the group never committed start (see start-position.ts). */
  readonly prepare: () => Promise<void>;
  readonly logger: Logger;
  readonly onClose: () => void;
}

/** One partition as this consumer holds it since the last join (or since kafkajs went back). */
interface Part {
  /** Offsets received and not yet under the committed offset, in order. */
  readonly order: number[];
  readonly acked: Set<number>;
  readonly attempts: Map<number, number>;
  /** The highest offset received. */
  last: number;
  /** Deliveries of it out and not settled. */
  out: number;
}

export class GroupConsumer implements DeliveryStream {
  readonly #o: GroupConsumerOptions;
  readonly #out = new HandOff<Delivery>();
  #consumer: Consumer | undefined;
  /** Bumped at every join and restart: a delivery of an older one settles nothing. */
  #gen = 0;
  #parts = new Map<number, Part>();
  #waiting: StoredMessage[] = [];
  #redo: StoredMessage[] = [];
  #unsettled = 0;
  #paused = false;
  readonly #commits: OffsetCommits;
  #starting: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(o: GroupConsumerOptions) {
    this.#o = o;
    this.#commits = new OffsetCommits({
      group: o.group,
      topic: o.topic,
      logger: o.logger,
      commit: async (offsets) => {
        const consumer = this.#consumer;
        if (consumer === undefined) throw new Error('no consumer');
        await consumer.commitOffsets(
          offsets.map(({ partition, offset }) => ({ topic: o.topic, partition, offset: String(offset) })),
        );
      },
    });
    this.#starting = this.#start();
  }

  get group(): string {
    return this.#o.group;
  }

  get topic(): string {
    return this.#o.topic;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Deliveries out and not settled. */
  get unsettled(): number {
    return this.#unsettled;
  }

  async #start(): Promise<void> {
    if (this.#closed) return;
    const { kafka, group, topic, logger } = this.#o;
    const consumer = kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: false,
      // a fetch waits this long for data; disconnect() waits for the fetch in flight
      maxWaitTimeInMs: 500,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 3000 },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => this.#joined());
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.warn({ err: payload.error, group, topic }, 'kafka consumer crashed');
      if (!payload.restart) this.#retryLater(consumer);
    });
    try {
      await this.#o.prepare();
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachMessage: async (p) => this.#arrived(consumer, p),
      });
    } catch (err) {
      logger.warn({ err, group, topic }, 'kafka consumer could not start; trying again');
      this.#retryLater(consumer);
    }
  }

  /** Starts a new consumer in a moment (the old one failed for good). */
  #retryLater(old: Consumer): void {
    if (this.#closed || this.#consumer !== old || this.#retryTimer !== undefined) return;
    this.#consumer = undefined;
    void old.disconnect().catch(() => undefined);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#starting = this.#start();
    }, 1000);
  }

  /** A (re)join: kafkajs reads every assigned partition again from its committed offset. */
  #joined(): void {
    this.#reset();
  }

  #reset(): void {
    this.#gen++;
    this.#parts = new Map();
    this.#waiting = [];
    this.#redo = [];
    this.#unsettled = 0;
    this.#commits.reset();
    if (this.#paused) this.#pause(false);
  }

  #arrived(consumer: Consumer, p: EachMessagePayload): void {
    if (this.#closed || consumer !== this.#consumer) return;
    const m = decode(p.topic, p.partition, p.message);
    const message = m.msgId === '' ? { ...m, msgId: foreignId(m) } : m;
    let part = this.#parts.get(p.partition);
    if (part !== undefined && message.queueOffset <= part.last) {
      // kafkajs went back (it reads from the committed offset again): so does this partition
      this.#dropPart(p.partition);
      part = undefined;
    }
    if (part === undefined)
      this.#parts.set(
        p.partition,
        (part = { order: [], acked: new Set(), attempts: new Map(), last: -1, out: 0 }),
      );
    part.last = message.queueOffset;
    part.order.push(message.queueOffset);
    this.#waiting.push(message);
    this.#pump();
    if (!this.#paused && this.#waiting.length >= this.#o.credit) this.#pause(true);
  }

  /** Forgets a partition's state: its deliveries out settle nothing, what waits is dropped. */
  #dropPart(partition: number): void {
    const part = this.#parts.get(partition);
    if (part === undefined) return;
    this.#parts.delete(partition);
    this.#unsettled -= part.out;
    this.#waiting = this.#waiting.filter((m) => m.queueId !== partition);
    this.#redo = this.#redo.filter((m) => m.queueId !== partition);
    this.#commits.drop(partition);
  }

  /** Pauses or resumes fetching the topic (a consumer not running yet takes neither). */
  #pause(on: boolean): void {
    this.#paused = on;
    const tp = [{ topic: this.#o.topic }];
    try {
      if (on) this.#consumer?.pause(tp);
      else this.#consumer?.resume(tp);
    } catch {
      this.#paused = false; // a consumer that is not running starts unpaused
    }
  }

  #pump(): void {
    while (this.#unsettled < this.#o.credit) {
      const m = this.#redo.shift() ?? this.#waiting.shift();
      if (m === undefined) break;
      this.#hand(m);
    }
    if (this.#paused && this.#waiting.length < this.#o.credit / 2) this.#pause(false);
  }

  #hand(m: StoredMessage): void {
    const gen = this.#gen;
    const part = this.#parts.get(m.queueId) as Part;
    const attempt = (part.attempts.get(m.queueOffset) ?? 0) + 1;
    let settled = false;
    this.#unsettled++;
    part.out++;
    const settle = async (acked: boolean): Promise<boolean> => {
      if (settled || this.#closed || gen !== this.#gen || this.#parts.get(m.queueId) !== part) return false;
      settled = true;
      this.#unsettled--;
      part.out--;
      if (acked) this.#acked(part, m);
      else {
        part.attempts.set(m.queueOffset, attempt);
        this.#redo.push(m);
      }
      this.#pump();
      return true;
    };
    // retry is the core's on Kafka: a nack gives the message back like a release
    this.#out.push({
      message: m,
      deliveryAttempt: attempt,
      ack: () => settle(true),
      nack: () => settle(false),
      release: () => settle(false),
    });
  }

  /** Moves the partition's commit over the acked prefix. */
  #acked(part: Part, m: StoredMessage): void {
    part.attempts.delete(m.queueOffset);
    part.acked.add(m.queueOffset);
    let commit: number | undefined;
    while (part.order.length > 0 && part.acked.delete(part.order[0] as number))
      commit = (part.order.shift() as number) + 1;
    if (commit === undefined) return;
    this.#commits.set(m.queueId, commit);
  }

  /** Leaves the group after committing what is acked (an offset reset waits for this). */
  async stop(): Promise<void> {
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#starting;
    await this.#commits.flush();
    const consumer = this.#consumer;
    this.#consumer = undefined;
    this.#reset();
    await consumer?.disconnect().catch(() => undefined);
  }

  /** Joins again after stop(), reading from the committed offsets. */
  restart(): void {
    if (this.#closed || this.#consumer !== undefined) return;
    this.#starting = this.#start();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.stop();
    this.#closed = true;
    this.#out.end();
    this.#o.onClose();
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this.#out.iterator(() => this.close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A msgId for a record that no mqgate wrote (no header): the same for the same record. */
function foreignId(m: StoredMessage): string {
  return createHash('md5')
    .update(`${m.topic}\u0000${m.queueId}\u0000${m.queueOffset}`)
    .digest('hex')
    .toUpperCase();
}
