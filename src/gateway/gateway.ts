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
import type { GetMessageResult } from '../store/index.js';
import { toMessageJson } from './message-json.js';
import { TxCheckRouter } from './tx-check.js';

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

  /** The backend a topic lives on. */
  backendOf(_topic: string): string {
    return 'local';
  }

  // ---------------------------------------------------------------- produce

  send(topic: string, m: SendInput): Promise<SendResult> {
    return this.broker.send(topic, m);
  }

  /**
   * A batch to one topic (RocketMQ's batch rules: no delayed or timed messages). Each message
   * is checked before any is stored; then all are stored together (one group commit).
   */
  async sendBatch(topic: string, messages: readonly SendInput[]): Promise<SendResult[]> {
    for (const [i, m] of messages.entries())
      if (m.delayLevel !== undefined || m.deliverAt !== undefined)
        throw new MqgateError(
          'MQ_ERR_MESSAGE_ILLEGAL',
          `messages[${i}]: a batch may not hold delayed or timed messages`,
        );
    return Promise.all(messages.map((m) => this.broker.send(topic, m)));
  }

  prepare(topic: string, producerGroup: string, m: SendInput): ReturnType<Broker['prepare']> {
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

  upsertTopic(name: string, update: TopicUpdate = {}): TopicConfig {
    return this.broker.upsertTopic(name, update);
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
