/**
 * `kafka`: topics on Apache Kafka (4.x; 3.x works too) through kafkajs. A topic is a Kafka topic
 * with one partition per queue, created by the admin API (queues only grow: more partitions);
 * the queue index mqgate picks is the partition, so a sharding key lands on the same index as on
 * every other backend. Sends from every caller are coalesced into idempotent produce requests
 * with acks=all (produce-batcher.ts). An mqgate group's consumers of a topic are the Kafka group
 * `{group}@{topic}` (names.ts), one consumer per group and topic (group-consumer.ts), so several
 * gateways split a group's partitions as Kafka assigns them.
 *
 * Native: start positions and seek (Kafka keeps a log and the groups' offsets), retry and DLQ
 * (the group's retry and DLQ topics, retry-topics.ts). The core supplies the rest over these
 * primitives: POP and invisible times (Kafka 4's share groups would make them native, but no
 * Node client speaks ShareFetch yet), delay levels and timers, transactions, orderly groups,
 * broadcasting (a group per consumer), tag and SQL92 filters, key query.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import { MqgateError } from '../../src/errors.js';
import type {
  BrokerAdapter,
  Capabilities,
  ConsumeOptions,
  DeliveryStream,
  Extras,
  GroupOptions,
  Health,
  OutboundMessage,
  SendReceipt,
} from '../spi.js';
import { encode, recordSize } from './codec.js';
import { GroupConsumer } from './group-consumer.js';
import { AdminClient } from './admin-client.js';
import { kafkaError } from './kafka-errors.js';
import { kafkaSeek } from './kafka-seek.js';
import { commitMarksTopicOf, groupIdOf } from './names.js';
import { ProduceBatcher } from './produce-batcher.js';
import { Readers } from './readers.js';
import { RetryTopics } from './retry-topics.js';
import { pinStart } from './start-position.js';
import { TopicAdmin } from './topic-admin.js';
import type { TopicInfo } from './topic-admin.js';
import { CommitMarks } from './commit-marks.js';
import { CommitWriter } from './commit-writer.js';

export interface KafkaOptions {
  readonly name: string;
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly confirmTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** The largest `max.message.bytes` mqgate gives a topic it creates. */
  readonly maxMessageBytes: number;
  /** Retries and dead letters as the groups' topics (else the core's). */
  readonly retryTopics: boolean;
  /** The group consumers' session.timeout.ms. */
  readonly sessionTimeoutMs: number;
  /** The gateway's largest message body. */
  readonly maxMessageSize: number;
  /** The gateway's delay levels in ms (level n at index n - 1): the retry topics' partitions. */
  readonly delayLevelsMs: readonly number[];
  /** The transactional commits' producer's id (commit-writer.ts). */
  readonly transactionalId: () => string;
  readonly logger: Logger;
}

/** Room for a record's key, headers (tag, keys, properties) and batch framing beside its body. */
const RECORD_HEADROOM = 64 * 1024;
/** A produce request takes waiting sends up to about this size. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

export class KafkaAdapter implements BrokerAdapter {
  readonly type = 'kafka';
  readonly extras: Extras;
  readonly #o: KafkaOptions;
  readonly #kafka: Kafka;
  readonly #admin: AdminClient;
  readonly #batcher: ProduceBatcher;
  readonly #topics: TopicAdmin;
  readonly #consumers = new Set<GroupConsumer>();
  readonly #retries: RetryTopics;
  readonly #commits: CommitWriter;
  /** Reads by offset (pull, key query, DLQ). */
  readonly #reads: Readers;
  /** The retry topic of each group and topic this gateway made one for. */
  readonly #retryTopics = new Map<string, string>();
  #up = false;
  #lastError: string | undefined;

  constructor(o: KafkaOptions) {
    this.#o = o;
    const log = o.logger.child({ component: 'kafkajs' });
    this.#kafka = new Kafka({
      clientId: o.clientId,
      brokers: [...o.brokers],
      connectionTimeout: o.connectTimeoutMs,
      // the connections' own retries (connect, metadata): short, so a send to a broker that
      // is away fails within seconds (kafkajs's default backs off for up to 30 s)
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
      logLevel: logLevel.WARN,
      // kafkajs reports retriable trouble (a broker away, a rebalance) as errors: ours are warnings
      logCreator: () => (e: LogEntry) => {
        const { message, ...extra } = e.log;
        if (e.level === logLevel.ERROR) log.warn(extra, message);
        else log.debug(extra, message);
      },
    });
    this.#admin = new AdminClient(this.#kafka);
    this.#reads = new Readers(this.#kafka);
    this.#topics = new TopicAdmin({
      admin: this.#admin,
      backend: o.name,
      maxBytes: Math.min(o.maxMessageBytes, o.maxMessageSize + RECORD_HEADROOM),
    });
    this.#batcher = new ProduceBatcher({
      kafka: this.#kafka,
      backend: o.name,
      confirmTimeoutMs: o.confirmTimeoutMs,
      maxRequestBytes: MAX_REQUEST_BYTES,
      logger: o.logger,
      onResult: (err) => this.#health(err),
    });
    this.#retries = new RetryTopics({
      readers: this.#reads,
      backend: o.name,
      admin: this.#admin,
      topics: this.#topics,
      batcher: this.#batcher,
      levelsMs: o.delayLevelsMs,
    });
    this.#commits = new CommitWriter({
      kafka: this.#kafka,
      backend: o.name,
      transactionalId: o.transactionalId,
      confirmTimeoutMs: o.confirmTimeoutMs,
      maxRequestBytes: MAX_REQUEST_BYTES,
      marks: (id) => new CommitMarks(this.#reads, this.#admin, commitMarksTopicOf(id)),
      ensureMarksTopic: (topic) => this.#topics.ensure(topic, 1).then(() => undefined),
      logger: o.logger,
    });
    const seek = kafkaSeek({
      readers: this.#reads,
      backend: o.name,
      admin: (fn) => this.#admin.run(fn),
      consumers: (g, t) => [...this.#consumers].filter((r) => r.group === g && r.topic === t),
    });
    const deadLetter = {
      list: (g: string, x: { offset?: number; max?: number }) => this.#retries.list(g, x),
      resend: (g: string, id: string) => this.#retries.resend(g, id),
    };
    this.extras = o.retryTopics ? { seek, deadLetter } : { seek };
  }

  capabilities(): Capabilities {
    const native = (how: string) => ({ support: 'native' as const, how });
    return {
      features: {
        ...(this.#o.retryTopics
          ? {
              retry: native(
                "a copy to the group's retry topic mqgate.retry.{group}.{topic}, a partition per delay level, read by the group when due",
              ),
              deadLetter: native("the group's DLQ topic mqgate.dlq.{group}: browse and resend"),
            }
          : {}),
        startPosition: native(
          "a new group's offsets are committed before it first joins: FIRST the log start, LAST the end, a time by offsets by timestamp",
        ),
        seek: native(
          "partitions read by offset; the groups' offsets, lag and resets through Kafka's admin API",
        ),
      },
      maxMessageSize: Math.min(this.#o.maxMessageSize, this.#o.maxMessageBytes - RECORD_HEADROOM),
    };
  }

  /** Connects the admin client and asks the cluster who it is; the health loop calls it again while down. */
  async connect(): Promise<void> {
    try {
      await this.#admin.run((a) => a.describeCluster());
      this.#health(undefined);
    } catch (err) {
      const e = kafkaError(err, this.#o.name, 'connect');
      this.#health(e);
      throw e;
    }
  }

  #health(err: MqgateError | undefined): void {
    if (err === undefined) {
      this.#up = true;
      this.#lastError = undefined;
    } else if (err.code === 'MQ_ERR_BACKEND_UNAVAILABLE') {
      this.#up = false;
      this.#lastError = err.message;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#consumers].map((r) => r.close()));
    await this.#reads.close();
    await this.#commits.close();
    await this.#batcher.close();
    await this.#admin.close();
    this.#up = false;
  }

  /** Transactional commits: Kafka transactions, failed tries that went again, commits found done. */
  get commitStats(): Readonly<CommitWriter['stats']> {
    return this.#commits.stats;
  }

  health(): Health {
    return this.#up ? { status: 'up' } : { status: 'down', lastError: this.#lastError };
  }

  /** Creates the topic with `queues` partitions, or adds partitions up to it. */
  async ensureTopic(topic: string, queues: number): Promise<void> {
    if (!(await this.#topics.ensure(topic, queues))) return;
    // kafkajs sees new partitions only at its next metadata refresh (minutes): join again now
    for (const r of [...this.#consumers].filter((x) => x.topic === topic))
      void r.stop().then(() => r.restart());
  }

  /**
   * Kafka makes a group when its first consumer joins; mqgate makes its retry and DLQ topics
   * (a broadcasting consumer's own group has none: a failed broadcast is dropped).
   */
  async ensureGroup(group: string, topic: string, o: GroupOptions = {}): Promise<void> {
    // a new group's start is fixed before its first consumer: what is sent after this is its
    await this.#admin.run((a) => pinStart(a, groupIdOf(group, topic), topic, o.from));
    if (o.member === true || !this.#o.retryTopics) return;
    this.#retryTopics.set(`${group}\u0000${topic}`, await this.#retries.ensure(group, topic));
  }

  /** Deletes the topic, and the retry topics of it this gateway made. */
  async deleteTopic(topic: string): Promise<void> {
    for (const r of [...this.#consumers]) if (r.topic === topic) await r.close();
    await this.#reads.close(topic);
    await this.#topics.delete(topic);
    for (const [key, retry] of [...this.#retryTopics])
      if (key.endsWith(`\u0000${topic}`)) {
        await this.#topics.delete(retry);
        this.#retryTopics.delete(key);
      }
    this.#batcher.renew();
  }

  async send(topic: string, batch: readonly OutboundMessage[]): Promise<SendReceipt[]> {
    const t = await this.#topics.get(topic);
    const records = batch.map((m) => this.#record(topic, t, m));
    const offsets = await this.#batcher.send(topic, records, t.maxBytes);
    return offsets.map((queueOffset) => ({ queueOffset }));
  }

  /** In a Kafka transaction with its commit mark (commit-writer.ts). */
  async sendCommitted(topic: string, m: OutboundMessage): Promise<SendReceipt> {
    const t = await this.#topics.get(topic);
    const record = this.#record(topic, t, m);
    return { queueOffset: await this.#commits.commit(topic, record, m.msgId, m.bornTimestamp, t.maxBytes) };
  }

  #record(topic: string, t: TopicInfo, m: OutboundMessage): ReturnType<typeof encode> {
    if (m.queueId >= t.queues)
      throw new MqgateError(
        'MQ_ERR_QUEUE_INVALID',
        `topic "${topic}" has ${t.queues} queues, not ${m.queueId}`,
      );
    const r = encode(m);
    const size = recordSize(r);
    if (size > t.maxBytes)
      throw new MqgateError(
        'MQ_ERR_MESSAGE_TOO_LARGE',
        `${size} bytes with its headers; topic "${topic}" on kafka backend "${this.#o.name}" takes records of at most ${t.maxBytes} (max.message.bytes)`,
        { details: { size, maxMessageSize: t.maxBytes, backend: this.#o.name } },
      );
    return r;
  }

  consume(group: string, topic: string, o: ConsumeOptions): DeliveryStream {
    const retryTopic = this.#retryTopics.get(`${group}\u0000${topic}`);
    const groupId = groupIdOf(group, topic);
    const reader: GroupConsumer = new GroupConsumer({
      kafka: this.#kafka,
      group,
      groupId,
      topic,
      credit: o.credit,
      sessionTimeoutMs: this.#o.sessionTimeoutMs,
      retryTopic,
      sendBack: retryTopic === undefined ? undefined : (m, x) => this.#retries.write(group, m, x),
      prepare: () => this.#admin.run((a) => pinStart(a, groupId, topic, o.from)),
      logger: this.#o.logger,
      onClose: () => this.#consumers.delete(reader),
    });
    this.#consumers.add(reader);
    return reader;
  }
}
