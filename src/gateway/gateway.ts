/**
 * The unified operations the APIs call. Today every topic lives on the `local` backend (the
 * embedded log with the broker core); the adapters for RabbitMQ, Kafka and RocketMQ will be
 * routed here by topic, behind the same methods, so REST, WebSocket and the CLI never change.
 */
import type { Logger } from 'pino';
import type {
  ConsumerLag,
  GroupConfig,
  GroupUpdate,
  GroupView,
  NackOutcome,
  OffsetTarget,
  QueueOffset,
  ReceiveOptions,
  ReceivedMessage,
  SendInput,
  SendResult,
  SubscribeOptions,
  Subscription,
  TopicConfig,
  TopicUpdate,
  TxStats,
} from '../broker/index.js';
import { Broker } from '../broker/index.js';
import type { Config } from '../config/schema.js';
import { MqgateError } from '../errors.js';
import type { StoredMessage } from '../message/index.js';
import { newMsgId } from '../message/index.js';
import type { GetMessageResult } from '../store/index.js';
import { toMessageJson } from './message-json.js';
import { TxCheckRouter } from './tx-check.js';
import { bodySizeWithin } from '../message/bytes.js';

/** How a backend provides a feature: by itself, through mqgate's core, or not at all. */
export type FeatureSupport = 'native' | 'emulated' | 'none';

export interface BackendInfo {
  readonly name: string;
  readonly status: 'up' | 'down';
  readonly default: boolean;
  readonly features: Readonly<Record<string, FeatureSupport>>;
}

/** What the embedded log offers: all of it, natively (the core is its broker). */
const LOCAL_FEATURES: Record<string, FeatureSupport> = {
  queues: 'native',
  tags: 'native',
  keys: 'native',
  sqlFilter: 'native',
  ordered: 'native',
  delayLevels: 'native',
  timedDelivery: 'native',
  transactions: 'native',
  clustering: 'native',
  broadcasting: 'native',
  pop: 'native',
  push: 'native',
  pullByOffset: 'native',
  retry: 'native',
  deadLetter: 'native',
  queryByKey: 'native',
};

export type TopicView = NonNullable<ReturnType<Broker['getTopic']>> & { backend: string };

/** RocketMQ's batch limit: at most this many messages in one batch send. */
export const MAX_BATCH = 1024;

/** Limits the APIs check requests against (from the broker and store options). */
export interface GatewayLimits {
  /** Largest message body, and largest total body of a batch (bytes). */
  readonly maxMessageSize: number;
  /** Longest long-poll wait of a receive (ms). */
  readonly maxWaitMs: number;
  readonly minInvisibleMs: number;
  readonly maxInvisibleMs: number;
}

export class Gateway {
  readonly broker: Broker;
  readonly txChecks: TxCheckRouter;
  readonly log: Logger;
  #closed = false;

  private constructor(broker: Broker, log: Logger, config: Config) {
    this.broker = broker;
    this.log = log;
    this.txChecks = new TxCheckRouter({
      timeoutMs: config.api.checkTimeoutMs,
      retries: config.api.checkRetries,
      log: log.child({ component: 'tx-check' }),
      toJson: (req) => toMessageJson(req.message),
    });
    broker.setTransactionChecker(this.txChecks.checker);
  }

  static async open(config: Config, log: Logger): Promise<Gateway> {
    const broker = await Broker.open({
      dataDir: config.store.dataDir,
      logger: log,
      store: {
        flushDiskType: config.store.flushDiskType,
        flushIntervalMs: config.store.flushIntervalMs,
        syncFlushTimeoutMs: config.store.syncFlushTimeoutMs,
        maxMessageSize: config.store.maxMessageSize,
        segmentSize: config.store.segmentSize,
        fileReservedTimeMs: config.store.fileReservedTimeMs,
      },
      ...config.broker,
    });
    return new Gateway(broker, log, config);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.broker.close();
  }

  backends(): BackendInfo[] {
    return [{ name: 'local', status: this.#closed ? 'down' : 'up', default: true, features: LOCAL_FEATURES }];
  }

  get limits(): GatewayLimits {
    const o = this.broker.options;
    return {
      maxMessageSize: this.broker.store.options.maxMessageSize,
      maxWaitMs: o.maxWaitMs,
      minInvisibleMs: o.minInvisibleMs,
      maxInvisibleMs: o.maxInvisibleMs,
    };
  }

  /** A fresh message id (for a send whose id must be known before it is stored: async mode). */
  newMsgId(): string {
    return newMsgId();
  }

  /** The backend a topic lives on. */
  backendOf(_topic: string): string {
    return 'local';
  }

  // ---------------------------------------------------------------- produce

  send(topic: string, m: SendInput): Promise<SendResult> {
    return this.broker.send(topic, m);
  }

  /**
   * A batch to one topic, by RocketMQ's batch rules: 1..{@link MAX_BATCH} messages, none delayed
   * or timed, bodies together within maxMessageSize. Each message is checked before any is
   * stored; then all are written concurrently (the store commits them as one group).
   *
   * @throws MqgateError `MQ_ERR_MESSAGE_ILLEGAL` (count, delay), `MQ_ERR_MESSAGE_TOO_LARGE`
   */
  async sendBatch(topic: string, messages: readonly SendInput[]): Promise<SendResult[]> {
    if (messages.length === 0 || messages.length > MAX_BATCH)
      throw new MqgateError(
        'MQ_ERR_MESSAGE_ILLEGAL',
        `a batch holds 1..${MAX_BATCH} messages, not ${messages.length}`,
      );
    const max = this.limits.maxMessageSize;
    // bounds first (text is measured only when it could be too large), then exact sizes
    let total = 0;
    for (const [i, m] of messages.entries()) {
      if (m.delayLevel !== undefined || m.deliverAt !== undefined)
        throw new MqgateError(
          'MQ_ERR_MESSAGE_ILLEGAL',
          `messages[${i}]: a batch may not hold delayed or timed messages`,
        );
      total += bodySizeWithin(m.body, max);
    }
    if (total > max) total = messages.reduce((n, m) => n + bodySizeWithin(m.body, 0), 0);
    if (total > max)
      throw new MqgateError(
        'MQ_ERR_MESSAGE_TOO_LARGE',
        `the batch bodies have ${total} bytes together, at most ${max} are allowed`,
        { details: { size: total, maxMessageSize: max } },
      );
    return Promise.all(messages.map((m) => this.broker.send(topic, m)));
  }

  /**
   * Stores a transactional half message. RocketMQ refuses delayed transactional messages; so
   * do we, rather than drop the delay silently.
   *
   * @throws MqgateError `MQ_ERR_MESSAGE_ILLEGAL` for a delayed or timed message
   */
  async prepare(topic: string, producerGroup: string, m: SendInput): ReturnType<Broker['prepare']> {
    if (m.delayLevel !== undefined || m.deliverAt !== undefined)
      throw new MqgateError('MQ_ERR_MESSAGE_ILLEGAL', 'a transactional message may not be delayed or timed');
    return this.broker.prepare(topic, producerGroup, m);
  }

  commit(transactionId: string): ReturnType<Broker['commit']> {
    return this.broker.commit(transactionId);
  }

  rollback(transactionId: string): ReturnType<Broker['rollback']> {
    return this.broker.rollback(transactionId);
  }

  transactionStats(): TxStats {
    return this.broker.transactionStats();
  }

  // ---------------------------------------------------------------- consume

  receive(group: string, o: ReceiveOptions): Promise<ReceivedMessage[]> {
    return this.broker.receive(group, o);
  }

  ack(group: string, topic: string, receiptHandle: string): void {
    this.broker.ack(group, topic, receiptHandle);
  }

  nack(
    group: string,
    topic: string,
    receiptHandle: string,
    o: { delayLevel?: number } = {},
  ): Promise<NackOutcome> {
    return this.broker.nack(group, topic, receiptHandle, o);
  }

  changeInvisibleDuration(
    group: string,
    topic: string,
    receiptHandle: string,
    invisibleMs: number,
  ): { receiptHandle: string; invisibleUntil: number } {
    return this.broker.changeInvisibleDuration(group, topic, receiptHandle, invisibleMs);
  }

  subscribe(group: string, topic: string, o: SubscribeOptions = {}): Subscription {
    return this.broker.subscribe(group, topic, o);
  }

  pull(topic: string, queueId: number, offset: number, max?: number): Promise<GetMessageResult> {
    return this.broker.pull(topic, queueId, offset, max);
  }

  offsets(group: string, topic: string, o: { clientId?: string } = {}): Promise<QueueOffset[]> {
    return this.broker.offsets(group, topic, o);
  }

  commitOffset(
    group: string,
    topic: string,
    queueId: number,
    offset: number,
    o: { clientId?: string } = {},
  ): Promise<void> {
    return this.broker.commitOffset(group, topic, queueId, offset, o);
  }

  resetOffsets(
    group: string,
    topic: string,
    to: OffsetTarget,
    o: { clientId?: string } = {},
  ): Promise<QueueOffset[]> {
    return this.broker.resetOffsets(group, topic, to, o);
  }

  // ---------------------------------------------------------------- admin and query

  listTopics(): (TopicConfig & { backend: string })[] {
    return this.broker.topics.list().map((t) => ({ ...t, backend: this.backendOf(t.name) }));
  }

  /**
   * Creates or changes a topic. `backend` names where it lives; only `local` exists until the
   * adapters do.
   *
   * @throws MqgateError `MQ_ERR_BAD_REQUEST` for a backend the gateway cannot route to
   */
  upsertTopic(name: string, update: TopicUpdate & { backend?: string | undefined } = {}): TopicConfig {
    const { backend, ...rest } = update;
    if (backend !== undefined && backend !== this.backendOf(name)) {
      const known = this.backends().map((b) => b.name);
      throw new MqgateError(
        'MQ_ERR_BAD_REQUEST',
        `backend "${backend}" is not available for topic "${name}"; available: ${known.join(', ')}`,
        { details: { backend, available: known } },
      );
    }
    return this.broker.upsertTopic(name, rest);
  }

  getTopic(name: string): TopicView | undefined {
    const t = this.broker.getTopic(name);
    return t === undefined ? undefined : { ...t, backend: this.backendOf(name) };
  }

  deleteTopic(name: string): boolean {
    return this.broker.deleteTopic(name);
  }

  listGroups(): GroupConfig[] {
    return this.broker.groups.list();
  }

  upsertGroup(name: string, update: GroupUpdate = {}): GroupConfig {
    return this.broker.upsertGroup(name, update);
  }

  getGroup(name: string): GroupView | undefined {
    return this.broker.getGroup(name);
  }

  deleteGroup(name: string): boolean {
    return this.broker.deleteGroup(name);
  }

  getMessage(msgId: string): Promise<StoredMessage | undefined> {
    return this.broker.getMessage(msgId);
  }

  queryByKey(
    topic: string,
    key: string,
    o: { begin?: number; end?: number; max?: number } = {},
  ): Promise<StoredMessage[]> {
    return this.broker.queryByKey(topic, key, o);
  }

  deadLetters(group: string, o: { offset?: number; max?: number } = {}): Promise<StoredMessage[]> {
    return this.broker.deadLetters(group, o);
  }

  resendDeadLetter(group: string, msgId: string): Promise<SendResult> {
    return this.broker.resendDeadLetter(group, msgId);
  }

  // ---------------------------------------------------------------- observability

  /** Lag per group, topic and queue (at most `limit` rows), read from memory: for metrics. */
  consumerLag(limit?: number): ConsumerLag[] {
    return this.broker.consumerLag(limit);
  }

  /** Messages waiting per delay level, timers, and the lateness of deliveries. */
  scheduleStats(): ReturnType<Broker['scheduleStats']> {
    return this.broker.scheduleStats();
  }

  /** The embedded log's write end, flushed end, lowest offset and fsync count. */
  storeStats(): ReturnType<Broker['store']['stats']> {
    return this.broker.store.stats();
  }
}
