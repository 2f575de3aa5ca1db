import type { Logger } from 'pino';
import { MqgateError } from '../../errors.js';
import type { MessageInput, StoredMessage } from '../../message/message.js';
import type { MessageStore, PutMessageResult } from '../../store/index.js';
import { LoopService } from '../../store/service.js';
import { TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../system-topics.js';
import type { TopicRegistry } from '../topic-registry.js';
import type { WrittenMessage } from '../moved-message.js';
import { HalfStates } from './half-states.js';
import type { TxOp } from './tx-records.js';
import { TxProp, committedMessage, discardedMessage, halfRecord, opRecord } from './tx-records.js';

/** A producer's answer to a check (RocketMQ's LocalTransactionState). */
export const TxState = {
  COMMIT_MESSAGE: 'COMMIT_MESSAGE',
  ROLLBACK_MESSAGE: 'ROLLBACK_MESSAGE',
  UNKNOW: 'UNKNOW',
} as const;
export type TxState = (typeof TxState)[keyof typeof TxState];

export interface TxCheckRequest {
  readonly transactionId: string;
  readonly msgId: string;
  readonly topic: string;
  readonly producerGroup: string;
  /** Checks before this one. */
  readonly checkTimes: number;
  readonly message: StoredMessage;
}

/** Asks the producer side how a transaction ended (the API layer plugs HTTP and WebSocket in). */
export type TxChecker = (req: TxCheckRequest) => Promise<TxState>;

export interface TxOptions {
  /** Only half messages older than this are checked. RocketMQ: 6 s. */
  readonly transactionTimeoutMs: number;
  /** How often pending half messages are checked. RocketMQ 5.1.1+: 30 s. */
  readonly checkIntervalMs: number;
  /** Checks before a half message is discarded to TRANS_CHECK_MAX_TIME_TOPIC. RocketMQ: 15. */
  readonly checkMax: number;
}

/** Counters for metrics. */
export interface TxStats {
  pending: number;
  committed: number;
  rolledBack: number;
  checks: number;
  discarded: number;
}

/**
 * Transactional half messages (RocketMQ's TransactionalMessageService): `prepare` stores the
 * message in RMQ_SYS_TRANS_HALF_TOPIC, where no consumer reads; `commit` writes the real
 * message and then an op record, `rollback` only the op record. Both are idempotent and a
 * second resolution the other way is a conflict. Op records (RMQ_SYS_TRANS_OP_HALF_TOPIC) are
 * the durable state: replayed on open, they say which half messages are resolved, discarded,
 * or how often they were checked. A check-back service asks the checker about half messages
 * older than transactionTimeoutMs, every checkIntervalMs, at most checkMax times.
 */
export class TransactionService {
  readonly #store: MessageStore;
  readonly #topics: TopicRegistry;
  readonly #log: Logger;
  readonly #opts: TxOptions;
  /** What the op records say about each half message. */
  readonly #state = new HalfStates();
  /** Half messages prepared lately and not resolved yet, by msgId (saves a read on commit). */
  #recent = new Map<string, WrittenMessage>();
  /** The generation of `#recent` before the last turnover (see #remember). */
  #older = new Map<string, WrittenMessage>();
  /** Resolutions under way, so that two concurrent commits write the real message once. */
  readonly #busy = new Map<number, Promise<TxOp>>();
  /** Every half message below this offset is resolved or discarded. */
  #low = 0;
  #checker: TxChecker | undefined;
  readonly #service: LoopService;
  readonly stats: TxStats = { pending: 0, committed: 0, rolledBack: 0, checks: 0, discarded: 0 };

  private constructor(store: MessageStore, topics: TopicRegistry, log: Logger, opts: TxOptions) {
    this.#store = store;
    this.#topics = topics;
    this.#log = log.child({ component: 'transactions' });
    this.#opts = opts;
    this.#service = new LoopService('transaction-check', opts.checkIntervalMs, this.#log, () =>
      this.checkNow(),
    );
  }

  /** Replays the op records and starts the check-back service. */
  static async open(
    store: MessageStore,
    topics: TopicRegistry,
    log: Logger,
    opts: TxOptions,
  ): Promise<TransactionService> {
    const tx = new TransactionService(store, topics, log, opts);
    await tx.#replay();
    tx.#service.start();
    return tx;
  }

  async close(): Promise<void> {
    await this.#service.stop();
  }

  setChecker(checker: TxChecker | undefined): void {
    this.#checker = checker;
  }

  async #replay(): Promise<void> {
    let offset = this.#store.minOffset(TRANS_OP_HALF_TOPIC, 0);
    for (;;) {
      const r = await this.#store.getMessages(TRANS_OP_HALF_TOPIC, 0, offset, 1024);
      for (const m of r.messages) {
        const half = Number(m.properties[TxProp.HALF_OFFSET]);
        const op = m.properties[TxProp.OP] as TxOp | undefined;
        if (!Number.isSafeInteger(half) || op === undefined) continue;
        this.#state.set(half, op, Number(m.properties[TxProp.CHECK_TIMES] ?? 0));
      }
      if (r.nextBeginOffset <= offset) break;
      offset = r.nextBeginOffset;
    }
    this.#low = this.#store.minOffset(TRANS_HALF_TOPIC, 0);
    this.#advanceLow();
    this.#countPending();
  }

  #resolved(half: number): boolean {
    const op = this.#state.op(half);
    return op !== undefined && op !== 'CHECKED';
  }

  #advanceLow(): void {
    const max = this.#store.maxOffset(TRANS_HALF_TOPIC, 0);
    while (this.#low < max && this.#resolved(this.#low)) this.#low++;
    this.#state.dropBelow(this.#store.minOffset(TRANS_HALF_TOPIC, 0));
  }

  #countPending(): void {
    let n = 0;
    const max = this.#store.maxOffset(TRANS_HALF_TOPIC, 0);
    for (let o = this.#low; o < max; o++) if (!this.#resolved(o)) n++;
    this.stats.pending = n;
  }

  /** Stores a half message; the transaction id is its msgId. */
  async prepare(
    m: MessageInput,
    producerGroup: string,
  ): Promise<{ transactionId: string; msgId: string; status: string }> {
    this.#topics.system(TRANS_HALF_TOPIC);
    const record = halfRecord(m, producerGroup);
    const r = await this.#store.putMessage(record);
    if (r.status !== 'PUT_OK' && r.status !== 'FLUSH_DISK_TIMEOUT')
      throw new MqgateError(
        r.status === 'MESSAGE_ILLEGAL' || r.status === 'PROPERTIES_SIZE_EXCEEDED'
          ? 'MQ_ERR_MESSAGE_ILLEGAL'
          : 'MQ_ERR_STORE_IO',
        r.reason ?? r.status,
      );
    this.stats.pending++;
    const msgId = r.msgId ?? '';
    this.#remember(msgId, halfFrom(record, r));
    return { transactionId: msgId, msgId, status: r.status === 'PUT_OK' ? 'SEND_OK' : 'FLUSH_DISK_TIMEOUT' };
  }

  /**
   * Commits or rolls back. Doing it again the same way is fine (idempotent).
   *
   * @throws MqgateError `MQ_ERR_TX_UNKNOWN` (404) for an id with no half message,
   * `MQ_ERR_TX_CONFLICT` (409) when it was resolved the other way (or discarded)
   */
  async resolve(
    transactionId: string,
    op: 'COMMIT' | 'ROLLBACK',
  ): Promise<{ transactionId: string; state: TxOp }> {
    if (typeof transactionId !== 'string' || !/^[0-9A-Fa-f]{32}$/.test(transactionId))
      throw new MqgateError('MQ_ERR_TX_UNKNOWN', `"${String(transactionId)}" is not a transaction id`);
    const id = transactionId.toUpperCase();
    const half =
      this.#recent.get(id) ??
      this.#older.get(id) ??
      (await this.#store.getByMsgId(id, { topic: TRANS_HALF_TOPIC }));
    if (half === undefined) throw new MqgateError('MQ_ERR_TX_UNKNOWN', `no half message ${transactionId}`);
    const done = await this.#resolveHalf(half, op);
    if (done !== op)
      throw new MqgateError(
        'MQ_ERR_TX_CONFLICT',
        `transaction ${transactionId} was already resolved: ${done}`,
        {
          details: { state: done },
        },
      );
    return { transactionId, state: done };
  }

  /** Resolves a half message once; returns how it ended (which may differ from `op`). */
  async #resolveHalf(
    half: WrittenMessage,
    op: 'COMMIT' | 'ROLLBACK' | 'DISCARDED',
    checkTimes = 0,
  ): Promise<TxOp> {
    const key = half.queueOffset;
    for (;;) {
      const known = this.#state.op(key);
      if (known !== undefined && known !== 'CHECKED') return known;
      const busy = this.#busy.get(key);
      if (busy === undefined) break;
      await busy.catch(() => undefined);
    }
    const run = (async (): Promise<TxOp> => {
      // the real message (or the discarded copy) and the op record in one write, in that order:
      // a torn tail can only lose the op record, and then a check asks again
      const writes = [opRecord(half, op, checkTimes)];
      if (op === 'COMMIT') writes.unshift(committedMessage(half));
      if (op === 'DISCARDED') writes.unshift(discardedMessage(half, checkTimes));
      await this.#put(writes);
      if (!this.#recent.delete(half.msgId)) this.#older.delete(half.msgId);
      this.#state.set(key, op, checkTimes);
      this.stats.pending = Math.max(0, this.stats.pending - 1);
      if (op === 'COMMIT') this.stats.committed++;
      else if (op === 'ROLLBACK') this.stats.rolledBack++;
      else this.stats.discarded++;
      this.#advanceLow();
      return op;
    })();
    this.#busy.set(key, run);
    try {
      return await run;
    } finally {
      this.#busy.delete(key);
    }
  }

  async #put(ms: MessageInput[]): Promise<void> {
    for (const m of ms) this.#topics.system(m.topic);
    const results = await this.#store.putMessages(ms);
    for (let i = 0; i < results.length; i++) {
      const r = results[i] as PutMessageResult;
      if (r.status !== 'PUT_OK' && r.status !== 'FLUSH_DISK_TIMEOUT')
        throw new MqgateError(
          'MQ_ERR_STORE_IO',
          `writing to ${ms[i]?.topic} answered ${r.status}: ${r.reason ?? ''}`,
        );
    }
  }

  /** Keeps a prepared half message at hand for its commit (bounded: older ones are read back). */
  #remember(msgId: string, half: WrittenMessage): void {
    this.#recent.set(msgId, half);
    // two generations, turned over when the young one is full: O(1), where dropping the
    // oldest entry of one Map walked past every deleted entry at its front each time
    if (this.#recent.size >= RECENT_HALVES) {
      this.#older = this.#recent;
      this.#recent = new Map();
    }
  }

  /** One pass of the check-back service (also called by tests). */
  async checkNow(): Promise<void> {
    this.#advanceLow();
    const until = Date.now() - this.#opts.transactionTimeoutMs;
    let offset = this.#low;
    for (;;) {
      const r = await this.#store.getMessages(TRANS_HALF_TOPIC, 0, offset, 256);
      for (const half of r.messages) {
        if (half.storeTimestamp > until) return; // younger ones follow: not yet
        if (!this.#resolved(half.queueOffset)) await this.#check(half);
      }
      if (r.nextBeginOffset <= offset) return;
      offset = r.nextBeginOffset;
    }
  }

  async #check(half: StoredMessage): Promise<void> {
    const checkTimes = this.#state.checkTimes(half.queueOffset);
    if (checkTimes >= this.#opts.checkMax) {
      this.#log.warn({ msgId: half.msgId, checkTimes }, 'half message checked too often: discarded');
      await this.#resolveHalf(half, 'DISCARDED', checkTimes);
      return;
    }
    this.stats.checks++;
    let state: TxState = TxState.UNKNOW;
    try {
      if (this.#checker !== undefined)
        state = await withTimeout(
          this.#checker({
            transactionId: half.msgId,
            msgId: half.msgId,
            topic: half.properties[TxProp.REAL_TOPIC] ?? '',
            producerGroup: half.properties[TxProp.PRODUCER_GROUP] ?? '',
            checkTimes,
            message: half,
          }),
          this.#opts.checkIntervalMs,
        );
    } catch (err) {
      this.#log.warn({ err, msgId: half.msgId }, 'transaction check failed: counted as UNKNOW');
      state = TxState.UNKNOW;
    }
    if (state === TxState.COMMIT_MESSAGE) await this.#resolveHalf(half, 'COMMIT', checkTimes + 1);
    else if (state === TxState.ROLLBACK_MESSAGE) await this.#resolveHalf(half, 'ROLLBACK', checkTimes + 1);
    else {
      await this.#put([opRecord(half, 'CHECKED', checkTimes + 1)]);
      this.#state.set(half.queueOffset, 'CHECKED', checkTimes + 1);
    }
  }
}

const RECENT_HALVES = 10_000;

/**
 * A half message just written, from what was written and where. A text body is kept as it is
 * (strings do not change); bytes are copied, as the sender may use its buffer again before the
 * commit.
 */
function halfFrom(m: MessageInput, r: PutMessageResult): WrittenMessage {
  return {
    msgId: r.msgId ?? '',
    topic: m.topic,
    queueId: m.queueId,
    queueOffset: r.queueOffset ?? 0,
    commitLogOffset: r.commitLogOffset ?? 0,
    storeSize: r.storeSize ?? 0,
    tag: m.tag,
    keys: m.keys ?? [],
    properties: m.properties ?? {},
    body: typeof m.body === 'string' ? m.body : Buffer.from(m.body),
    bornTimestamp: m.bornTimestamp ?? r.storeTimestamp ?? Date.now(),
    storeTimestamp: r.storeTimestamp ?? Date.now(),
    flag: m.flag ?? 0,
    sysFlag: m.sysFlag ?? 0,
    reconsumeTimes: m.reconsumeTimes ?? 0,
    preparedTransactionOffset: 0,
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
