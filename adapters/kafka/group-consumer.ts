/**
 * A group's consumer of one topic on Kafka, as the adapter contract's delivery stream: a kafkajs
 * consumer in the Kafka group `{group}@{topic}` (names.ts; Kafka splits the partitions among
 * every gateway's consumers of it), auto-commit off. At most `credit` deliveries are out; past `credit`
 * waiting here the topic is paused. An ack commits only the contiguous acked prefix of its
 * partition (partition-state.ts); a release is handed out again (deliveryAttempt + 1). A join,
 * a reconnect or a restart reads every partition again from its commit, and so does kafkajs by
 * itself (a rejoin inside a fetch): a record at or below the last one seen of its partition
 * starts that partition afresh, and deliveries of before settle nothing (they come again).
 * With a retry topic (retry-topics.ts) the group's retry copies are read too: a nack writes the
 * copy (or the dead letter), then acks; a copy not yet due is held, its partition paused.
 */
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { HandOff } from '../../src/hand-off.js';
import type { StoredMessage } from '../../src/message/message.js';
import type { Delivery, DeliveryStream } from '../spi.js';
import { decode, dueOf } from './codec.js';
import { OffsetCommits } from './offset-commits.js';
import { PartitionState } from './partition-state.js';

export interface GroupConsumerOptions {
  readonly kafka: Kafka;
  /** The mqgate group, and the Kafka group its consumers of the topic are (names.ts). */
  readonly group: string;
  readonly groupId: string;
  readonly topic: string;
  readonly credit: number;
  readonly sessionTimeoutMs: number;
  /** The group's retry topic for this topic, read beside it (none: retry is the core's). */
  readonly retryTopic?: string | undefined;
  /** Writes a failed message's retry copy or dead letter (where retry is the broker's). */
  readonly sendBack?: (m: StoredMessage, o: { delayLevel?: number; deadLetter?: boolean }) => Promise<void>;
  /** Before each join: sets where partitions the group never committed start (see start-position.ts). */
  readonly prepare: () => Promise<void>;
  readonly logger: Logger;
  readonly onClose: () => void;
}

/** A record waiting to be handed out, and the partition it belongs to. */
interface Entry {
  readonly part: PartitionState;
  readonly m: StoredMessage;
}

export class GroupConsumer implements DeliveryStream {
  readonly #o: GroupConsumerOptions;
  readonly #out = new HandOff<Delivery>();
  readonly #commits: OffsetCommits;
  #consumer: Consumer | undefined;
  /** Bumped at every join and restart: a delivery of an older one settles nothing. */
  #gen = 0;
  #parts = new Map<string, PartitionState>();
  #waiting: Entry[] = [];
  #redo: Entry[] = [];
  #unsettled = 0;
  #paused = false;
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
        await consumer.commitOffsets(offsets.map((x) => ({ ...x, offset: String(x.offset) })));
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
    const { kafka, group, topic, retryTopic, logger } = this.#o;
    const consumer = kafka.consumer({
      groupId: this.#o.groupId,
      allowAutoTopicCreation: false,
      // a fetch waits this long for data; disconnect() waits for the fetch in flight. Short, as
      // a resume after the credit pause waits for it too: a paused topic makes kafkajs sleep
      // this long (or long-poll the retry topic), and at 500 ms a backlog was pushed at 3.5k
      // msgs/s instead of 12k (bench/backends)
      maxWaitTimeInMs: 100,
      // after a broker restart the group still counts this consumer's member of before: a new
      // join waits until that member's session ends (kafkajs's 30 s default stalled delivery
      // for 30 s and more in the fault test), and at most a rebalance timeout for the others
      sessionTimeout: this.#o.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(this.#o.sessionTimeoutMs / 3)),
      rebalanceTimeout: 2 * this.#o.sessionTimeoutMs,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 3000 },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, () => this.#reset());
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      logger.warn({ err: payload.error, group, topic }, 'kafka consumer crashed');
      if (!payload.restart) this.#retryLater(consumer);
    });
    try {
      await this.#o.prepare();
      await consumer.connect();
      await consumer.subscribe({
        topics: retryTopic === undefined ? [topic] : [topic, retryTopic],
        fromBeginning: true,
      });
      await consumer.run({ autoCommit: false, eachMessage: async (p) => this.#arrived(consumer, p) });
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

  /** A (re)join or a stop: kafkajs reads every assigned partition again from its committed offset. */
  #reset(): void {
    this.#gen++;
    for (const part of this.#parts.values()) this.#forget(part);
    this.#parts = new Map();
    this.#waiting = [];
    this.#redo = [];
    this.#unsettled = 0;
    this.#commits.reset();
    if (this.#paused) this.#pause(false);
  }

  #arrived(consumer: Consumer, p: EachMessagePayload): void {
    if (this.#closed || consumer !== this.#consumer) return;
    const message = decode(this.#o.topic, p.partition, p.message);
    const key = PartitionState.key(p.topic, p.partition);
    let part = this.#parts.get(key);
    if (part !== undefined && !part.received(message.queueOffset)) {
      // kafkajs went back (it reads from the committed offset again): so does this partition
      this.#dropPart(part);
      part = undefined;
    }
    if (part === undefined) {
      this.#parts.set(key, (part = new PartitionState(p.topic, p.partition)));
      part.received(message.queueOffset);
    }
    const due = p.topic === this.#o.retryTopic ? dueOf(p.message) : undefined;
    if (due !== undefined && (part.holding || due > Date.now())) return this.#hold(part, message, due);
    this.#waiting.push({ part, m: message });
    this.#pump();
    if (!this.#paused && this.#waiting.length >= this.#o.credit) this.#pause(true);
  }

  /** A retry copy before its time: kept, its partition paused, until it is due. */
  #hold(part: PartitionState, m: StoredMessage, due: number): void {
    this.#consumer?.pause([{ topic: part.topic, partitions: [part.partition] }]);
    part.hold(m, due, (ready, holding) => {
      if (this.#parts.get(PartitionState.key(part.topic, part.partition)) !== part) return;
      for (const r of ready) this.#waiting.push({ part, m: r });
      if (!holding) this.#resumePart(part);
      this.#pump();
    });
  }

  #resumePart(part: PartitionState): void {
    try {
      this.#consumer?.resume([{ topic: part.topic, partitions: [part.partition] }]);
    } catch {
      // not running: a new consumer starts unpaused
    }
  }

  /** A partition's state is dropped: its timer stops, a partition paused for held copies goes on. */
  #forget(part: PartitionState): void {
    const holding = part.holding;
    part.dispose();
    if (holding) this.#resumePart(part);
  }

  /** Forgets a partition's state: its deliveries out settle nothing, what waits is dropped. */
  #dropPart(part: PartitionState): void {
    this.#parts.delete(PartitionState.key(part.topic, part.partition));
    this.#forget(part);
    this.#unsettled -= part.out;
    this.#waiting = this.#waiting.filter((e) => e.part !== part);
    this.#redo = this.#redo.filter((e) => e.part !== part);
    this.#commits.drop(part.topic, part.partition);
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
      const e = this.#redo.shift() ?? this.#waiting.shift();
      if (e === undefined) break;
      this.#hand(e);
    }
    if (this.#paused && this.#waiting.length < this.#o.credit / 2) this.#pause(false);
  }

  #hand(e: Entry): void {
    const { part, m } = e;
    const gen = this.#gen;
    const attempt = part.attempts(m.queueOffset) + 1;
    let settled = false;
    this.#unsettled++;
    part.out++;
    const live = (): boolean =>
      !settled &&
      !this.#closed &&
      gen === this.#gen &&
      this.#parts.get(PartitionState.key(part.topic, part.partition)) === part;
    const settle = async (acked: boolean): Promise<boolean> => {
      if (!live()) return false;
      settled = true;
      this.#unsettled--;
      part.out--;
      if (!acked) {
        part.givenBack(m.queueOffset, attempt);
        this.#redo.push(e);
      } else {
        const commit = part.acked(m.queueOffset);
        if (commit !== undefined) this.#commits.set(part.topic, part.partition, commit);
      }
      this.#pump();
      return true;
    };
    const sendBack = this.#o.sendBack;
    this.#out.push({
      message: m,
      // a retry copy counts the failures before it
      deliveryAttempt: attempt + m.reconsumeTimes,
      ack: () => settle(true),
      release: () => settle(false),
      // the copy first (it throws when it cannot be written: the delivery stays out), then the
      // ack; where retry is the core's, a nack gives the message back like a release
      nack: async (o = {}) => {
        if (sendBack === undefined) return settle(false);
        if (!live()) return false;
        await sendBack(m, o);
        return settle(true);
      },
    });
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
