/**
 * The unified operations the APIs call, whatever backend a topic lives on. A `local` topic goes
 * to the broker core over the embedded log (directly: its send and push paths are tuned per
 * message). A topic on another backend goes to its adapter for what the broker does natively,
 * and to the core for the rest (src/gateway/core): POP, retry and DLQ over the broker's stream,
 * delays and transactions held in the gateway's log, filters, the key index. A feature no one
 * can supply there answers 422 MQ_ERR_FEATURE_UNSUPPORTED.
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
import { bodySizeWithin } from '../message/bytes.js';
import type { BackendInfo, SendListener } from './backends.js';
import { Backends } from './backends.js';
import { supportOf, unsupported } from './capabilities.js';
import type { GatewaySubscription } from './contract.js';
import { CorePop } from './core/core-pop.js';
import { RemoteConsume } from './core/remote-consume.js';
import type { RemoteTopic } from './core/remote-producer.js';
import { RemoteProducer } from './core/remote-producer.js';
import { StoreAndForward } from './core/store-and-forward.js';
import { toMessageJson } from './message-json.js';
import type { TopicView } from './topics.js';
import { GatewayTopics } from './topics.js';
import { GatewayQueries } from './queries.js';
import { TxCheckRouter } from './tx-check.js';

export type { BackendInfo } from './backends.js';
export type { TopicView } from './topics.js';

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
  readonly backends: Backends;
  readonly topics: GatewayTopics;
  readonly #pop: CorePop;
  readonly #producer: RemoteProducer;
  readonly #consume: RemoteConsume;
  readonly #queries: GatewayQueries;
  readonly #saf: StoreAndForward;
  #closed = false;

  private constructor(broker: Broker, backends: Backends, log: Logger, config: Config) {
    this.broker = broker;
    this.backends = backends;
    this.log = log;
    this.topics = new GatewayTopics(broker, backends, config);
    this.txChecks = new TxCheckRouter({
      timeoutMs: config.api.checkTimeoutMs,
      retries: config.api.checkRetries,
      log: log.child({ component: 'tx-check' }),
      toJson: (req) => toMessageJson(req.message),
    });
    broker.setTransactionChecker(this.txChecks.checker);
    this.#pop = new CorePop({
      broker,
      dataDir: config.store.dataDir,
      credit: config.gateway.popCredit,
      idleMs: config.gateway.popIdleMs,
      log,
    });
    this.#saf = new StoreAndForward({
      broker,
      backends,
      dataDir: config.store.dataDir,
      log,
      intervalMs: config.gateway.healthIntervalMs,
      deliver: (b, topic, batch) => this.#producer.deliver(b, topic, batch),
    });
    this.#producer = new RemoteProducer(broker, backends, (t) => this.topics.remote(t), this.#saf, log);
    this.#consume = new RemoteConsume(broker, this.#pop, log);
    this.#queries = new GatewayQueries(broker, backends, () => this.#producer.indexed());
    broker.setForwarder(this.#producer.forwarder);
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
    let gateway: Gateway;
    try {
      const backends = await Backends.open(config, broker, log);
      try {
        gateway = new Gateway(broker, backends, log, config);
      } catch (e) {
        await backends.close();
        throw e;
      }
    } catch (e) {
      await broker.close();
      throw e;
    }
    try {
      // what waits in the store-and-forward backlogs since the last run goes on from here
      await gateway.#saf.open();
    } catch (e) {
      await gateway.close();
      throw e;
    }
    return gateway;
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#saf.close();
    await this.#pop.close();
    await this.backends.close();
    await this.broker.close();
  }

  /** Every backend: type, status, last error, its capability matrix and its store-and-forward backlog. */
  listBackends(): BackendInfo[] {
    return this.backends
      .info((name) => this.#saf.stats(name))
      .map((b) => (this.#closed ? { ...b, status: 'down' } : b));
  }

  /** Called after every send to a backend (the metrics). */
  onBackendSend(listener: SendListener): void {
    this.backends.onSend(listener);
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

  /** The backend a topic lives on (or would, by the routes). */
  backendOf(topic: string): string {
    return this.topics.backendOf(topic);
  }

  /** The remote topic of a consume call; undefined for a local one. */
  #remote(topic: string): RemoteTopic | undefined {
    return this.topics.remote(topic);
  }

  // ---------------------------------------------------------------- produce

  send(topic: string, m: SendInput): Promise<SendResult> {
    // the local send path is tuned per message: one lookup, then the broker
    const t = this.broker.topics.get(topic);
    if (t === undefined ? this.topics.allLocal : t.backend === undefined) return this.broker.send(topic, m);
    return this.topics
      .forSend(topic)
      .then((r) => (r === undefined ? this.broker.send(topic, m) : this.#producer.send(r, m)));
  }

  /**
   * A batch to one topic, by RocketMQ's batch rules: 1..{@link MAX_BATCH} messages, none delayed
   * or timed, bodies together within maxMessageSize. Each message is checked before any is
   * stored; then all are written concurrently (the store commits them as one group), or sent to
   * the topic's broker in one confirmed batch.
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
    const t = this.broker.topics.get(topic);
    const remote = t === undefined && this.topics.allLocal ? undefined : await this.topics.forSend(topic);
    if (remote !== undefined) return this.#producer.sendBatch(remote, messages);
    return Promise.all(messages.map((m) => this.broker.send(topic, m)));
  }

  /**
   * Stores a transactional half message. RocketMQ refuses delayed transactional messages; so
   * do we, rather than drop the delay silently. On another backend the half message waits in
   * the gateway's log (the core) unless the broker has transactions of its own.
   *
   * @throws MqgateError `MQ_ERR_MESSAGE_ILLEGAL` for a delayed or timed message
   */
  async prepare(topic: string, producerGroup: string, m: SendInput): ReturnType<Broker['prepare']> {
    if (m.delayLevel !== undefined || m.deliverAt !== undefined)
      throw new MqgateError('MQ_ERR_MESSAGE_ILLEGAL', 'a transactional message may not be delayed or timed');
    const remote = await this.topics.forSend(topic);
    if (remote !== undefined) {
      const s = supportOf(remote.backend.caps, 'transactions', remote.emulate);
      if (s.support === 'none') throw unsupported('transactions', remote.backend.name, s.how);
      const native = remote.backend.adapter.extras.transactions;
      if (s.support === 'native' && native !== undefined) return native.prepare(topic, producerGroup, m);
    }
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
    const r = this.#remote(o.topic);
    return r === undefined ? this.broker.receive(group, o) : this.#consume.receive(r, group, o);
  }

  async ack(group: string, topic: string, receiptHandle: string): Promise<void> {
    const r = this.#remote(topic);
    if (r === undefined) this.broker.ack(group, topic, receiptHandle);
    else await this.#consume.ack(r, group, receiptHandle);
  }

  nack(
    group: string,
    topic: string,
    receiptHandle: string,
    o: { delayLevel?: number } = {},
  ): Promise<NackOutcome> {
    const r = this.#remote(topic);
    return r === undefined
      ? this.broker.nack(group, topic, receiptHandle, o)
      : this.#consume.nack(r, group, receiptHandle, o);
  }

  async changeInvisibleDuration(
    group: string,
    topic: string,
    receiptHandle: string,
    invisibleMs: number,
  ): Promise<{ receiptHandle: string; invisibleUntil: number }> {
    const r = this.#remote(topic);
    if (r === undefined) return this.broker.changeInvisibleDuration(group, topic, receiptHandle, invisibleMs);
    return this.#consume.changeInvisibleDuration(r, group, receiptHandle, invisibleMs);
  }

  subscribe(group: string, topic: string, o: SubscribeOptions = {}): GatewaySubscription {
    const r = this.#remote(topic);
    return r === undefined ? this.broker.subscribe(group, topic, o) : this.#consume.subscribe(r, group, o);
  }

  pull(topic: string, queueId: number, offset: number, max?: number): Promise<GetMessageResult> {
    const r = this.#remote(topic);
    return r === undefined
      ? this.broker.pull(topic, queueId, offset, max)
      : this.#consume.pull(r, queueId, offset, max ?? 32);
  }

  offsets(group: string, topic: string, o: { clientId?: string } = {}): Promise<QueueOffset[]> {
    const r = this.#remote(topic);
    return r === undefined ? this.broker.offsets(group, topic, o) : this.#consume.offsets(r, group, o);
  }

  commitOffset(
    group: string,
    topic: string,
    queueId: number,
    offset: number,
    o: { clientId?: string } = {},
  ): Promise<void> {
    const r = this.#remote(topic);
    if (r === undefined) return this.broker.commitOffset(group, topic, queueId, offset, o);
    return this.#consume.commitOffset(r, group, queueId, offset, o);
  }

  resetOffsets(
    group: string,
    topic: string,
    to: OffsetTarget,
    o: { clientId?: string } = {},
  ): Promise<QueueOffset[]> {
    const r = this.#remote(topic);
    return r === undefined
      ? this.broker.resetOffsets(group, topic, to, o)
      : this.#consume.resetOffsets(r, group, to, o);
  }

  // ---------------------------------------------------------------- admin and query

  listTopics(): (TopicConfig & { backend: string })[] {
    return this.topics.list();
  }

  /**
   * Creates or changes a topic; `backend` names where it lives (default: the routes').
   *
   * @throws MqgateError `MQ_ERR_BACKEND_UNKNOWN`, `MQ_ERR_BACKEND_FIXED`
   */
  upsertTopic(name: string, update: TopicUpdate = {}): Promise<TopicConfig> {
    return this.topics.upsert(name, update);
  }

  getTopic(name: string): Promise<TopicView | undefined> {
    return this.topics.view(name);
  }

  /** Deletes a topic; on a broker that can, its queues too (their messages with them). */
  async deleteTopic(name: string): Promise<boolean> {
    const remote = this.topics.remote(name);
    if (!this.topics.delete(name)) return false;
    await remote?.backend.adapter.deleteTopic?.(name);
    return true;
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

  /** By msgId: the gateway's log (local topics, and the core's index of other backends'). */
  getMessage(msgId: string): Promise<StoredMessage | undefined> {
    return this.#queries.getMessage(msgId);
  }

  queryByKey(
    topic: string,
    key: string,
    o: { begin?: number; end?: number; max?: number } = {},
  ): Promise<StoredMessage[]> {
    return this.#queries.queryByKey(topic, this.#remote(topic), key, o);
  }

  /** A group's dead letters, in the core's log and in the backends' own DLQs. */
  deadLetters(group: string, o: { offset?: number; max?: number } = {}): Promise<StoredMessage[]> {
    return this.#queries.deadLetters(group, o);
  }

  resendDeadLetter(group: string, msgId: string): Promise<SendResult> {
    return this.#queries.resendDeadLetter(group, msgId);
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
