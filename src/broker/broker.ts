import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { MqgateError } from '../errors.js';
import type { StoredMessage } from '../message/message.js';
import { MessageStore } from '../store/index.js';
import type { GetMessageResult } from '../store/index.js';
import { LoopService } from '../store/service.js';
import { ConsumerState } from './consume/consumer-state.js';
import type { NackOutcome, ReceivedMessage } from './consume/engine.js';
import { ConsumeEngine } from './consume/engine.js';
import { LongPoll } from './consume/long-poll.js';
import { PushConsumers } from './consume/push.js';
import { ReceiptHandles } from './consume/receipt-handle.js';
import type { Subscription } from './consume/subscription.js';
import { DelayLevels } from './delay-levels.js';
import type { CompiledFilter, FilterSpec } from './filter/index.js';
import { compileFilter } from './filter/index.js';
import type { GroupConfig, GroupUpdate } from './group-registry.js';
import { ConsumeMode, GroupRegistry } from './group-registry.js';
import { checkGroupName, checkTopicName, checkUserTopic } from './names.js';
import { OffsetAdmin } from './offset-admin.js';
import type { OffsetTarget, QueueOffset } from './offset-admin.js';
import type { BrokerOptions, ResolvedBrokerOptions } from './options.js';
import type { ConsumerLag, GroupView, ReceiveOptions, SubscribeOptions } from './broker-types.js';
import { MAX_RECEIVE } from './broker-types.js';

export type { ConsumerLag, GroupView, ReceiveOptions, SubscribeOptions } from './broker-types.js';
export { MAX_RECEIVE } from './broker-types.js';
import { resolveBrokerOptions } from './options.js';
import { Producer } from './producer.js';
import type { SendInput, SendResult } from './send.js';
import { SendStatus, toSendResult, toStoreInput } from './send.js';
import { Prop, dlqTopic, retryTopic } from './system-topics.js';
import type { TopicConfig, TopicUpdate } from './topic-registry.js';
import { TopicRegistry } from './topic-registry.js';
import { resentMessage } from './consume/retry.js';
import { Scheduler } from './schedule/scheduler.js';
import type { Forwarder } from './forwarder.js';
import type { Prepared, TxChecker, TxStats } from './transaction/transactions.js';
import { TransactionService } from './transaction/transactions.js';

/**
 * The broker core: RocketMQ's semantics over the embedded store, as a typed in-process API.
 * Topics and groups, sends (queue by sharding key or round-robin), POP receives with
 * invisible time and receipt handles, push subscriptions with rebalance and credit, orderly
 * groups, retries through `%RETRY%{group}` and dead letters in `%DLQ%{group}`, offsets.
 */
export class Broker {
  readonly options: ResolvedBrokerOptions;
  readonly store: MessageStore;
  readonly topics: TopicRegistry;
  readonly groups: GroupRegistry;
  readonly levels: DelayLevels;
  readonly #log: Logger;
  readonly #state: ConsumerState;
  readonly #engine: ConsumeEngine;
  readonly #push: PushConsumers;
  readonly #poll = new LongPoll();
  readonly #offsets: OffsetAdmin;
  readonly #producer: Producer;
  readonly #filters = new Map<string, CompiledFilter>();
  readonly #services: LoopService[];
  readonly #offArrival: () => void;
  readonly #scheduler: Scheduler;
  #tx: TransactionService | undefined;
  /** Sends the messages of topics on other backends (see setForwarder). */
  #forwarder: Forwarder | undefined;
  /** The producer group of the last prepare, known valid (checked once, not per message). */
  #lastProducerGroup: string | undefined;
  #closed = false;

  private constructor(options: ResolvedBrokerOptions, store: MessageStore) {
    this.options = options;
    this.store = store;
    this.#log = options.logger.child({ component: 'broker' });
    this.levels = new DelayLevels(options.delayLevels);
    const configDir = path.join(options.dataDir, 'config');
    fs.mkdirSync(configDir, { recursive: true });
    this.topics = new TopicRegistry(configDir, options.defaultTopicQueues);
    this.groups = new GroupRegistry(configDir, this.levels.count);
    this.#state = new ConsumerState(path.join(options.dataDir, 'consumer'), this.#log);
    this.#engine = new ConsumeEngine({
      store,
      state: this.#state,
      topics: this.topics,
      groups: this.groups,
      handles: new ReceiptHandles(configDir),
      levels: this.levels,
      poll: this.#poll,
      log: this.#log,
    });
    this.#push = new PushConsumers({
      engine: this.#engine,
      log: this.#log,
      queuesOf: (t) => this.topics.get(t)?.queues ?? 0,
      groupOf: (g) => this.#group(g),
    });
    this.#offsets = new OffsetAdmin(store, this.#state, this.#engine);
    this.#engine.onVisible = (topic) => this.#push.wake(topic);
    store.prepareReads();
    this.#producer = new Producer(store, this.topics, this.levels, options);
    this.#scheduler = new Scheduler({
      store,
      state: this.#state,
      levels: this.levels,
      log: this.#log,
      forwarder: () => this.#forwarder,
    });
    this.#offArrival = store.onArrival((topic, queueId) => {
      this.#scheduler.notify(topic, queueId);
      this.#poll.notify(topic);
      this.#push.wake(topic);
    });
    this.#scheduler.start();
    this.#services = [
      new LoopService('consumer-state-flush', options.stateFlushIntervalMs, this.#log, () =>
        this.#state.flush(),
      ),
      new LoopService(
        'consumer-expiry',
        Math.max(1, Math.floor(options.consumerExpiryMs / 4)),
        this.#log,
        () => {
          this.#push.expire(Date.now() - options.consumerExpiryMs);
          return Promise.resolve();
        },
      ),
    ];
    for (const s of this.#services) s.start();
  }

  /** Opens the store in `dataDir` (recovering it) and the broker's state beside it. */
  static async open(opts: BrokerOptions): Promise<Broker> {
    const options = resolveBrokerOptions(opts);
    const store = await MessageStore.open({
      ...options.store,
      dataDir: options.dataDir,
      logger: options.logger,
    });
    let broker: Broker | undefined;
    try {
      const b = (broker = new Broker(options, store));
      broker.#tx = await TransactionService.open(store, broker.topics, options.logger, {
        transactionTimeoutMs: options.transactionTimeoutMs,
        checkIntervalMs: options.transactionCheckIntervalMs,
        checkMax: options.transactionCheckMax,
        forwarder: () => b.#forwarder,
      });
      return broker;
    } catch (e) {
      if (broker !== undefined) await broker.close();
      else await store.close();
      throw e;
    }
  }

  /** Ends subscriptions, saves consumer state and closes the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#offArrival();
    this.#push.closeAll();
    this.#poll.notifyAll();
    await Promise.all(this.#services.map((s) => s.stop()));
    await this.#scheduler.stop();
    await this.#tx?.close();
    this.#engine.close();
    this.#state.close();
    await this.store.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #open(): void {
    if (this.#closed) throw new MqgateError('MQ_ERR_BROKER_CLOSED', 'the broker is closed');
  }

  // ------------------------------------------------------------------ topics and groups

  /** Creates a topic or changes its queues/permission. */
  upsertTopic(name: string, update: TopicUpdate = {}): TopicConfig {
    this.#open();
    const config = this.topics.upsert(name, update);
    for (const g of this.groups.list()) this.#push.rebalance(g.name, name);
    return config;
  }

  /** A topic's config and its queues' offsets; undefined when there is no such topic. */
  getTopic(
    name: string,
  ):
    | (TopicConfig & { queueOffsets: { queueId: number; minOffset: number; maxOffset: number }[] })
    | undefined {
    const config = this.topics.get(name);
    if (config === undefined) return undefined;
    const queueOffsets = Array.from({ length: config.queues }, (_, queueId) => ({
      queueId,
      minOffset: this.store.minOffset(name, queueId),
      maxOffset: this.store.maxOffset(name, queueId),
    }));
    return { ...config, queueOffsets };
  }

  deleteTopic(name: string): boolean {
    this.#open();
    return this.topics.delete(checkTopicName(name));
  }

  upsertGroup(name: string, update: GroupUpdate = {}): GroupConfig {
    this.#open();
    return this.groups.upsert(name, update);
  }

  deleteGroup(name: string): boolean {
    this.#open();
    for (const sub of this.#push.list(name)) sub.close();
    return this.groups.delete(name);
  }

  getGroup(name: string): GroupView | undefined {
    const config = this.groups.get(name);
    if (config === undefined) return undefined;
    return {
      config,
      consumers: this.#push.list(name).map((s) => ({
        clientId: s.clientId,
        topic: s.topic,
        queueIds: [...s.queueIds],
        retry: s.retry,
        credit: s.credit,
        unsettled: s.outstanding.size,
      })),
      stats: this.#engine.stats.snapshot(name),
      retryMessages: this.store.maxOffset(retryTopic(name), 0) - this.store.minOffset(retryTopic(name), 0),
      dlqMessages: this.store.maxOffset(dlqTopic(name), 0) - this.store.minOffset(dlqTopic(name), 0),
    };
  }

  #group(name: string): GroupConfig {
    const g = this.groups.get(checkGroupName(name));
    if (g !== undefined) return g;
    if (!this.options.autoCreateGroups)
      throw new MqgateError('MQ_ERR_GROUP_NOT_FOUND', `"${name}"; create it first (autoCreateGroups is off)`);
    return this.groups.upsert(name);
  }

  /** A user topic that exists (or, with autoCreateTopics, is created now). */
  #topic(name: string, forWrite: boolean): TopicConfig {
    // a configured topic's name is valid: the check runs for names not found
    const t = this.topics.get(name) ?? this.topics.get(checkTopicName(name));
    if (t !== undefined) {
      // system topics are read and written by the core only (DLQs: through deadLetters())
      if (t.system) checkUserTopic(name);
      return t;
    }
    if (!forWrite || !this.options.autoCreateTopics)
      throw new MqgateError(
        'MQ_ERR_TOPIC_NOT_FOUND',
        `"${name}"${this.options.autoCreateTopics ? '' : '; create it first (autoCreateTopics is off)'}`,
      );
    return this.upsertTopic(name);
  }

  /**
   * Plugs in where messages of topics on other backends go: delayed and timed messages when
   * due, committed transactions and dead letters sent back (the gateway's core).
   */
  setForwarder(f: Forwarder | undefined): void {
    this.#forwarder = f;
  }

  // ------------------------------------------------------------------ send

  /** Sends one message; the queue comes from `queueId`, else the sharding key, else round-robin. */
  async send(topic: string, m: SendInput): Promise<SendResult> {
    this.#open();
    return this.#producer.send(this.#topic(topic, true), m);
  }

  /** The queue a send would choose (the core picks queues for every backend the same way). */
  queueFor(topic: string, m: Pick<SendInput, 'queueId' | 'shardingKey'>): number {
    return this.#producer.queueFor(this.#topic(topic, true), m);
  }

  // ------------------------------------------------------------------ transactions

  #transactions(): TransactionService {
    this.#open();
    if (this.#tx === undefined) throw new MqgateError('MQ_ERR_BROKER_CLOSED', 'the broker is not open yet');
    return this.#tx;
  }

  /**
   * Stores a half message: invisible to every consumer until committed. Returns the
   * transaction id (the message's msgId).
   */
  prepare(topic: string, producerGroup: string, m: SendInput): Promise<Prepared> {
    try {
      const tx = this.#transactions();
      const t = this.#topic(topic, true);
      if (t.perm === 'R') throw new MqgateError('MQ_ERR_TOPIC_PERMISSION', `topic "${topic}" is read-only`);
      if (producerGroup !== this.#lastProducerGroup) this.#lastProducerGroup = checkGroupName(producerGroup);
      const queueId = this.#producer.queueFor(t, m);
      return tx.prepare(toStoreInput(topic, queueId, m), producerGroup);
    } catch (err) {
      return Promise.reject(err as Error); // refusals are rejections, as from an async function
    }
  }

  /** Commits a prepared message: it becomes visible in its topic. Idempotent. */
  commit(transactionId: string): Promise<{ transactionId: string; state: string }> {
    try {
      return this.#transactions().resolve(transactionId, 'COMMIT');
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Rolls a prepared message back: it is never delivered. Idempotent. */
  rollback(transactionId: string): Promise<{ transactionId: string; state: string }> {
    try {
      return this.#transactions().resolve(transactionId, 'ROLLBACK');
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** The check-back: asked about half messages left unresolved past transactionTimeoutMs. */
  setTransactionChecker(checker: TxChecker | undefined): void {
    this.#transactions().setChecker(checker);
  }

  /** Runs one check-back pass now (the service runs one every transactionCheckIntervalMs). */
  checkTransactions(): Promise<void> {
    return this.#transactions().checkNow();
  }

  transactionStats(): TxStats {
    return { ...this.#transactions().stats };
  }

  /** Messages waiting in the scheduler, and the lateness of those delivered. */
  scheduleStats(): {
    levels: number[];
    timers: number;
    delivered: number;
    lateness: { count: number; p50: number; p99: number; max: number };
  } {
    return {
      ...this.#scheduler.pending(),
      delivered: this.#scheduler.delivered,
      lateness: this.#scheduler.lateness.summary(),
    };
  }

  // ------------------------------------------------------------------ POP

  /**
   * Receives up to `maxMessages` (POP): each stays invisible to the group for `invisibleMs`
   * unless acked; an unacked one comes back with deliveryAttempt + 1. With `waitMs`, waits for
   * a message when there is none (long polling).
   */
  async receive(group: string, o: ReceiveOptions): Promise<ReceivedMessage[]> {
    return this.#receive(group, o, false);
  }

  /**
   * For a topic on another backend (the core's POP over its stream): only the topic's retries,
   * which the core keeps here; never waits.
   */
  receiveRetries(group: string, o: ReceiveOptions): Promise<ReceivedMessage[]> {
    return this.#receive(group, { ...o, waitMs: 0 }, true);
  }

  /** A message of another backend that failed: retry copy here, or the DLQ (see ConsumeEngine). */
  sendBack(
    group: string,
    m: StoredMessage,
    o: { delayLevel?: number | undefined; deadLetter?: boolean | undefined } = {},
  ): Promise<NackOutcome> {
    this.#open();
    return this.#engine.sendBack(this.#group(group), m, o);
  }

  async #receive(group: string, o: ReceiveOptions, retriesOnly: boolean): Promise<ReceivedMessage[]> {
    this.#open();
    const g = this.#group(group);
    if (g.consumeMode === ConsumeMode.BROADCASTING)
      throw new MqgateError(
        'MQ_ERR_GROUP_MODE',
        `group "${group}" is BROADCASTING: subscribe (push) or pull by offset; receive is for clustering groups`,
      );
    const t = this.#topic(o.topic, false);
    if (t.perm === 'W') throw new MqgateError('MQ_ERR_TOPIC_PERMISSION', `topic "${t.name}" is write-only`);
    const max = o.maxMessages ?? MAX_RECEIVE;
    if (!Number.isInteger(max) || max < 1 || max > MAX_RECEIVE)
      throw new MqgateError('MQ_ERR_GROUP_INVALID', `maxMessages must be 1..${MAX_RECEIVE}, got ${max}`);
    const invisibleMs = this.#checkInvisible(o.invisibleMs ?? this.options.defaultInvisibleMs);
    const waitMs = o.waitMs ?? 0;
    if (!Number.isInteger(waitMs) || waitMs < 0 || waitMs > this.options.maxWaitMs)
      throw new MqgateError(
        'MQ_ERR_GROUP_INVALID',
        `waitMs must be 0..${this.options.maxWaitMs}, got ${waitMs}`,
      );
    const filter = o.filter === undefined ? undefined : this.#compiled(o.filter);
    const deadline = Date.now() + waitMs;
    const queueIds = retriesOnly ? [] : Array.from({ length: t.queues }, (_, i) => i);
    const watch = [t.name, retryTopic(g.name)];
    for (;;) {
      const got = await this.#engine.take({
        group: g,
        client: '',
        topic: t.name,
        queueIds,
        retry: true,
        filter,
        max,
        invisibleMs,
      });
      const left = deadline - Date.now();
      if (got.length > 0 || left <= 0 || this.#closed || o.signal?.aborted === true) return got;
      await this.#poll.wait(watch, left, o.signal);
    }
  }

  /**
   * A filter compiled once and kept (the last 256 distinct ones): a POP consumer sends its
   * expression with every receive, and parsing SQL92 each time would be work done again.
   */
  #compiled(spec: FilterSpec): CompiledFilter {
    const key = `${String(spec.type)}\u0000${spec.expression ?? ''}`;
    let f = this.#filters.get(key);
    if (f === undefined) {
      f = compileFilter(spec);
      this.#filters.set(key, f);
      if (this.#filters.size > 256) this.#filters.delete(this.#filters.keys().next().value as string);
    }
    return f;
  }

  #checkInvisible(ms: number): number {
    const { minInvisibleMs: min, maxInvisibleMs: max } = this.options;
    if (!Number.isInteger(ms) || ms < min || ms > max)
      throw new MqgateError('MQ_ERR_INVISIBLE_TIME_INVALID', `${ms} ms is outside ${min}..${max} ms`, {
        details: { min, max },
      });
    return ms;
  }

  /** Acks one delivery by its receipt handle. */
  ack(group: string, topic: string, receiptHandle: string): void {
    this.#open();
    this.#engine.ack(group, topic, receiptHandle);
  }

  /** Nacks a delivery: retry after back-off, DLQ when retries are used up (see ConsumeEngine.nack). */
  async nack(
    group: string,
    topic: string,
    receiptHandle: string,
    opts: { delayLevel?: number } = {},
  ): Promise<NackOutcome> {
    this.#open();
    return (await this.#engine.nack(group, topic, receiptHandle, opts)).outcome;
  }

  /** Gives a delivery back at once, for the next receive (the adapter contract's release). */
  release(group: string, topic: string, receiptHandle: string): void {
    this.#open();
    this.#engine.releaseOne(group, topic, receiptHandle);
  }

  /** Gives a delivery a new invisible time from now; the old handle stops working. */
  changeInvisibleDuration(
    group: string,
    topic: string,
    receiptHandle: string,
    invisibleMs: number,
  ): { receiptHandle: string; invisibleUntil: number } {
    this.#open();
    const r = this.#engine.changeInvisible(group, topic, receiptHandle, this.#checkInvisible(invisibleMs));
    return { receiptHandle: r.handle, invisibleUntil: r.invisibleUntil };
  }

  // ------------------------------------------------------------------ push

  /** Subscribes a live consumer (push with credit); queues are rebalanced across the group. */
  subscribe(group: string, topic: string, o: SubscribeOptions = {}): Subscription {
    this.#open();
    const g = this.#group(group);
    const t = this.#topic(topic, false);
    const filter = o.filter === undefined ? undefined : this.#compiled(o.filter);
    const credit = o.credit ?? this.options.defaultCredit;
    if (!Number.isInteger(credit) || credit < 1 || credit > 10_000)
      throw new MqgateError('MQ_ERR_GROUP_INVALID', `credit must be 1..10000, got ${credit}`);
    return this.#push.subscribe({
      group: g,
      topic: t.name,
      queues: t.queues,
      filter,
      credit,
      clientId: o.clientId,
      ackTimeoutMs: o.ackTimeoutMs ?? this.options.pushAckTimeoutMs,
    });
  }

  // ------------------------------------------------------------------ pull, offsets, query

  /** Reads a queue by offset, without any group (replay, migration). */
  async pull(
    topic: string,
    queueId: number,
    offset: number,
    maxMessages = MAX_RECEIVE,
  ): Promise<GetMessageResult> {
    const t = this.#topic(topic, false);
    if (!Number.isInteger(queueId) || queueId < 0 || queueId >= t.queues)
      throw new MqgateError(
        'MQ_ERR_QUEUE_INVALID',
        `topic "${topic}" has queues 0..${t.queues - 1}, not ${queueId}`,
      );
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new MqgateError('MQ_ERR_OFFSET_INVALID', `offset must be an integer >= 0, got ${offset}`);
    return this.store.getMessages(topic, queueId, offset, Math.min(Math.max(1, maxMessages), 1024));
  }

  /** Committed offsets and lag of a group on a topic's queues. */
  async offsets(group: string, topic: string, o: { clientId?: string } = {}): Promise<QueueOffset[]> {
    const g = this.#group(group);
    return this.#offsets.list(g, this.#topic(topic, false), o.clientId ?? '');
  }

  /**
   * The lag of every group on every queue of a user topic it has consumed from (committed
   * offset to the queue's end), read from memory without creating anything; the scan stops at
   * `limit` rows. Retry cursors are left out (`getGroup` counts the retry topic's messages).
   */
  consumerLag(limit = Number.POSITIVE_INFINITY): ConsumerLag[] {
    const rows = new Map<
      string,
      { group: string; topic: string; queueId: number; lag: number; inflight: number }
    >();
    for (const c of this.#state.all()) {
      const k = c.key;
      if (k.retryOf !== '' || this.groups.get(k.group) === undefined) continue;
      const t = this.topics.get(k.topic);
      if (t === undefined || t.system || k.queueId >= t.queues) continue;
      const lag = c.lag(this.store.maxOffset(k.topic, k.queueId));
      const id = `${k.group}\u0001${k.topic}\u0001${k.queueId}`;
      const row = rows.get(id);
      if (row !== undefined) {
        row.lag = Math.max(row.lag, lag);
        row.inflight += c.inflight.size;
      } else if (rows.size < limit)
        rows.set(id, { group: k.group, topic: k.topic, queueId: k.queueId, lag, inflight: c.inflight.size });
      else break;
    }
    return [...rows.values()];
  }

  /** Sets a group's committed offset on one queue (pull consumers, admin). */
  async commitOffset(
    group: string,
    topic: string,
    queueId: number,
    offset: number,
    o: { clientId?: string } = {},
  ): Promise<void> {
    this.#open();
    await this.#offsets.commit(
      this.#group(group),
      this.#topic(topic, false),
      queueId,
      offset,
      o.clientId ?? '',
    );
  }

  /** Moves a group on every queue of a topic to FIRST, LAST or the first message at a time. */
  async resetOffsets(
    group: string,
    topic: string,
    to: OffsetTarget,
    o: { clientId?: string } = {},
  ): Promise<QueueOffset[]> {
    this.#open();
    const g = this.#group(group);
    const t = this.#topic(topic, false);
    await this.#offsets.reset(g, t, to, o.clientId ?? '');
    return this.#offsets.list(g, t, o.clientId ?? '');
  }

  getMessage(msgId: string): Promise<StoredMessage | undefined> {
    return this.store.getByMsgId(msgId);
  }

  queryByKey(
    topic: string,
    key: string,
    o: { begin?: number; end?: number; max?: number } = {},
  ): Promise<StoredMessage[]> {
    return this.store.queryByKey(checkTopicName(topic), key, o);
  }

  // ------------------------------------------------------------------ DLQ

  /** Messages in a group's dead-letter queue, from `offset`. */
  async deadLetters(group: string, o: { offset?: number; max?: number } = {}): Promise<StoredMessage[]> {
    const topic = dlqTopic(checkGroupName(group));
    const from = Math.max(o.offset ?? 0, this.store.minOffset(topic, 0));
    const r = await this.store.getMessages(topic, 0, from, Math.min(o.max ?? 32, 1024));
    return r.messages;
  }

  /** Sends a dead-lettered message back to its original topic with a fresh reconsume count. */
  async resendDeadLetter(group: string, msgId: string): Promise<SendResult> {
    this.#open();
    const m = await this.store.getByMsgId(msgId, { topic: dlqTopic(checkGroupName(group)) });
    if (m === undefined) throw new MqgateError('MQ_ERR_MSG_NOT_FOUND', `${msgId} in the DLQ of "${group}"`);
    const topic = m.properties[Prop.DLQ_ORIGIN_TOPIC] ?? m.topic;
    const t = this.#topic(topic, true);
    const queueId = this.#producer.queueFor(t, { shardingKey: m.properties[Prop.SHARDING_KEY] });
    const resent = resentMessage(m, queueId);
    if (this.#forwarder?.owns(t.name) === true) {
      const queueOffset = await this.#forwarder.forward(resent);
      return { status: SendStatus.SEND_OK, msgId: m.msgId, topic: t.name, queueId, queueOffset };
    }
    return toSendResult(t.name, await this.store.putMessage(resent));
  }
}
