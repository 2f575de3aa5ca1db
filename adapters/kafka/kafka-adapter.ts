/**
 * `kafka`: topics on Apache Kafka (4.x; 3.x works too) through kafkajs. A topic is a Kafka topic
 * with one partition per queue, created by the admin API (queues only grow: more partitions);
 * the queue index mqgate picks is the partition, so a sharding key lands on the same index as on
 * every other backend. Sends from every caller are coalesced into idempotent produce requests
 * with acks=all (produce-batcher.ts). Each mqgate group is the Kafka group of the same name, read
 * by a consumer per group and topic (group-consumer.ts), so several gateways split a group's
 * partitions as Kafka assigns them. Native: start positions and seek (Kafka keeps a log and the
 * groups' offsets). The core supplies the rest over these primitives: POP and invisible times
 * (Kafka 4's share groups would make them native, but no Node client speaks ShareFetch yet),
 * retry and DLQ, delay levels and timers, transactions, orderly groups, broadcasting (a group
 * per consumer), tag and SQL92 filters, key query.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { Admin, LogEntry } from 'kafkajs';
import type { Logger } from 'pino';
import { MqgateError } from '../../src/errors.js';
import type {
  BrokerAdapter,
  Capabilities,
  ConsumeOptions,
  DeliveryStream,
  Extras,
  Health,
  OutboundMessage,
  SendReceipt,
} from '../spi.js';
import { encode, recordSize } from './codec.js';
import { GroupConsumer } from './group-consumer.js';
import { checkTopicName, kafkaError } from './kafka-errors.js';
import { kafkaSeek } from './kafka-seek.js';
import { ProduceBatcher } from './produce-batcher.js';
import { pinStart } from './start-position.js';

export interface KafkaOptions {
  readonly name: string;
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly confirmTimeoutMs: number;
  readonly connectTimeoutMs: number;
  /** The largest `max.message.bytes` mqgate gives a topic it creates. */
  readonly maxMessageBytes: number;
  /** The gateway's largest message body. */
  readonly maxMessageSize: number;
  readonly logger: Logger;
}

/** Room for a record's key, headers (tag, keys, properties) and batch framing beside its body. */
const RECORD_HEADROOM = 64 * 1024;
/** How long a new topic's partitions may take to answer. */
const LEADERS_WAIT_MS = 15_000;
/** A produce request takes waiting sends up to about this size. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

export class KafkaAdapter implements BrokerAdapter {
  readonly type = 'kafka';
  readonly extras: Extras;
  readonly #o: KafkaOptions;
  readonly #kafka: Kafka;
  readonly #admin: Admin;
  readonly #batcher: ProduceBatcher;
  /** Topics known to exist, with their partitions and the record size they take. */
  readonly #topics = new Map<string, { queues: number; maxBytes: number }>();
  readonly #readers = new Set<GroupConsumer>();
  #up = false;
  #lastError: string | undefined;
  #adminConnected = false;

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
    this.#admin = this.#kafka.admin({ retry: { retries: 5, initialRetryTime: 200, maxRetryTime: 1000 } });
    this.#batcher = new ProduceBatcher({
      kafka: this.#kafka,
      backend: o.name,
      confirmTimeoutMs: o.confirmTimeoutMs,
      maxRequestBytes: MAX_REQUEST_BYTES,
      logger: o.logger,
      onResult: (err) => this.#health(err),
    });
    this.extras = {
      seek: kafkaSeek({
        kafka: this.#kafka,
        backend: o.name,
        admin: () => this.#admin,
        readers: (g, t) => [...this.#readers].filter((r) => r.group === g && r.topic === t),
      }),
    };
  }

  capabilities(): Capabilities {
    const native = (how: string) => ({ support: 'native' as const, how });
    return {
      features: {
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
      if (!this.#adminConnected) {
        await this.#admin.connect();
        this.#adminConnected = true;
      }
      await this.#admin.describeCluster();
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
    await Promise.all([...this.#readers].map((r) => r.close()));
    await this.#batcher.close();
    await this.#admin.disconnect().catch(() => undefined);
    this.#up = false;
  }

  health(): Health {
    return this.#up ? { status: 'up' } : { status: 'down', lastError: this.#lastError };
  }

  /** Creates the topic with `queues` partitions, or adds partitions up to it. */
  async ensureTopic(topic: string, queues: number): Promise<void> {
    checkTopicName(topic);
    if ((this.#topics.get(topic)?.queues ?? 0) >= queues) return;
    try {
      const exists = (await this.#admin.listTopics()).includes(topic);
      if (!exists) {
        const maxBytes = Math.min(this.#o.maxMessageBytes, this.#o.maxMessageSize + RECORD_HEADROOM);
        await this.#admin.createTopics({
          topics: [
            {
              topic,
              numPartitions: queues,
              configEntries: [{ name: 'max.message.bytes', value: String(maxBytes) }],
            },
          ],
          waitForLeaders: true,
        });
      }
      const meta = await this.#admin.fetchTopicMetadata({ topics: [topic] });
      const have = meta.topics[0]?.partitions.length ?? 0;
      if (have < queues) await this.#admin.createPartitions({ topicPartitions: [{ topic, count: queues }] });
      // also for a topic made elsewhere a moment ago: its partitions may not answer yet
      await this.#leadersReady(topic);
      // kafkajs sees new partitions only at its next metadata refresh (minutes): join again now
      if (exists && have < queues)
        for (const r of [...this.#readers].filter((x) => x.topic === topic))
          void r.stop().then(() => r.restart());
      this.#topics.set(topic, { queues: Math.max(have, queues), maxBytes: await this.#maxBytes(topic) });
    } catch (err) {
      throw kafkaError(err, this.#o.name, `create topic "${topic}"`);
    }
  }

  /**
   * Waits until every partition answers for its offsets: right after a create, a broker may
   * still say NOT_LEADER_OR_FOLLOWER (the leader is elected, its log not loaded yet).
   */
  async #leadersReady(topic: string): Promise<void> {
    const until = Date.now() + LEADERS_WAIT_MS;
    for (;;)
      try {
        await this.#admin.fetchTopicOffsets(topic);
        return;
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
  }

  /** The topic's `max.message.bytes` (it may have been made elsewhere with less). */
  async #maxBytes(topic: string): Promise<number> {
    const r = await this.#admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['max.message.bytes'] }],
    });
    const v = Number(r.resources[0]?.configEntries[0]?.configValue);
    return Number.isFinite(v) && v > 0 ? v : 1024 * 1024;
  }

  /** Kafka makes a group when its first consumer joins; nothing to do ahead of that. */
  async ensureGroup(): Promise<void> {}

  async deleteTopic(topic: string): Promise<void> {
    for (const r of [...this.#readers]) if (r.topic === topic) await r.close();
    try {
      if ((await this.#admin.listTopics()).includes(topic))
        await this.#admin.deleteTopics({ topics: [topic] });
    } catch (err) {
      throw kafkaError(err, this.#o.name, `delete topic "${topic}"`);
    }
    this.#topics.delete(topic);
    this.#batcher.renew();
  }

  /** A topic's partitions and record limit, from Kafka when this gateway has not seen it yet (a restart). */
  async #topic(topic: string): Promise<{ queues: number; maxBytes: number }> {
    const known = this.#topics.get(topic);
    if (known !== undefined) return known;
    try {
      if (!(await this.#admin.listTopics()).includes(topic))
        throw new MqgateError(
          'MQ_ERR_TOPIC_NOT_FOUND',
          `"${topic}" is not on kafka backend "${this.#o.name}"`,
        );
      const meta = await this.#admin.fetchTopicMetadata({ topics: [topic] });
      const t = { queues: meta.topics[0]?.partitions.length ?? 0, maxBytes: await this.#maxBytes(topic) };
      this.#topics.set(topic, t);
      return t;
    } catch (err) {
      throw kafkaError(err, this.#o.name, `look up topic "${topic}"`);
    }
  }

  async send(topic: string, batch: readonly OutboundMessage[]): Promise<SendReceipt[]> {
    const t = await this.#topic(topic);
    const records = batch.map((m) => {
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
    });
    const offsets = await this.#batcher.send(topic, records);
    return offsets.map((queueOffset) => ({ queueOffset }));
  }

  consume(group: string, topic: string, o: ConsumeOptions): DeliveryStream {
    const reader: GroupConsumer = new GroupConsumer({
      kafka: this.#kafka,
      group,
      topic,
      credit: o.credit,
      prepare: () => pinStart(this.#admin, group, topic, o.from),
      logger: this.#o.logger,
      onClose: () => this.#readers.delete(reader),
    });
    this.#readers.add(reader);
    return reader;
  }
}
