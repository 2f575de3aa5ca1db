import type { Logger } from 'pino';
import { withTimeout } from '../../with-timeout.js';
import { MqgateError } from '../../errors.js';
import { recordBodyView } from '../../message/codec.js';
import type { MessageInput, StoredMessage } from '../../message/message.js';
import type { Appended, MessageStore, PutMessageResult } from '../../store/index.js';
import { isRefused, WRITE_FAILED } from '../../store/index.js';
import { sendError } from '../send.js';
import type { Forwarder, ForwarderRef } from '../forwarder.js';
import { LoopService } from '../../store/service.js';
import { TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../system-topics.js';
import type { TopicRegistry } from '../topic-registry.js';
import { HalfStates } from './half-states.js';
import { RecentHalves } from './recent-halves.js';
import type { HalfMessage, TxOp } from './tx-records.js';
import { TxProp, committedMessage, discardedMessage, halfRecord, opRecord, readOp } from './tx-records.js';

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
  /** Where commits of topics on other backends go. */
  readonly forwarder?: ForwarderRef | undefined;
}

/** What `prepare` answers. */
export interface Prepared {
  /** The half message's msgId, which names the transaction. */
  readonly transactionId: string;
  readonly msgId: string;
  readonly status: 'SEND_OK' | 'FLUSH_DISK_TIMEOUT';
  readonly topic: string;
  readonly queueId: number;
}

/** How a resolution ended: the id asked with, and the state. */
export interface Resolution {
  readonly transactionId: string;
  readonly state: TxOp;
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
 * message, which is its own op record (the store gives the one record a second entry in
 * RMQ_SYS_TRANS_OP_HALF_TOPIC), `rollback` only an op record. Both are idempotent and a second
 * resolution the other way is a conflict. The entries of RMQ_SYS_TRANS_OP_HALF_TOPIC are the
 * durable state: replayed on open, they say which half messages are resolved, discarded, or how
 * often they were checked. A check-back service asks the checker about half messages
 * older than transactionTimeoutMs, every checkIntervalMs, at most checkMax times.
 */
export class TransactionService {
  readonly #store: MessageStore;
  readonly #topics: TopicRegistry;
  readonly #log: Logger;
  readonly #opts: TxOptions;
  /**
   * What the op records say about each half message, and which are being resolved (so that two
   * concurrent commits write the real message once).
   */
  readonly #state = new HalfStates();
  /** Half messages prepared lately and not resolved yet, by msgId (saves a read on commit). */
  readonly #recent = new RecentHalves();
  /** Resolutions waiting for the one under way on the same half message (rare). */
  readonly #waiting = new Map<number, (() => void)[]>();
  #topicsKnown = false;
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
        const o = readOp(m);
        if (o !== undefined) this.#state.set(o.half, o.op, o.checkTimes);
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

  /** Makes sure the two system topics prepare, commit and rollback write are known (once). */
  #systemTopics(): void {
    if (this.#topicsKnown) return;
    this.#topics.system(TRANS_HALF_TOPIC);
    this.#topics.system(TRANS_OP_HALF_TOPIC);
    this.#topicsKnown = true;
  }

  /** Stores a half message; the transaction id is its msgId. */
  prepare(m: MessageInput, producerGroup: string): Promise<Prepared> {
    this.#systemTopics();
    const record = halfRecord(m, producerGroup);
    // its place is known once encoded; the answer waits until it is written
    const r = this.#store.append(record);
    if (isRefused(r)) return Promise.reject(sendError(r));
    const half = halfFrom(record, r);
    return this.#store.written().then((outcome) => {
      if (outcome === 'OS_WRITE_FAILED') throw sendError(WRITE_FAILED);
      this.stats.pending++;
      this.#recent.add(half);
      return {
        transactionId: half.msgId,
        msgId: half.msgId,
        status: outcome === 'OK' ? 'SEND_OK' : 'FLUSH_DISK_TIMEOUT',
        topic: m.topic,
        queueId: m.queueId,
      };
    });
  }

  /**
   * Commits or rolls back. Doing it again the same way is fine (idempotent).
   *
   * @throws MqgateError `MQ_ERR_TX_UNKNOWN` (404) for an id with no half message,
   * `MQ_ERR_TX_CONFLICT` (409) when it was resolved the other way (or discarded)
   */
  resolve(transactionId: string, op: 'COMMIT' | 'ROLLBACK'): Promise<Resolution> {
    // an id as prepare returned it is found at once; others are checked and read back
    const half = this.#recent.get(transactionId);
    if (half !== undefined) return this.#resolveHalf(half, op, 0, transactionId);
    return this.#lookUp(transactionId).then((h) => {
      if (h === undefined) throw new MqgateError('MQ_ERR_TX_UNKNOWN', `no half message ${transactionId}`);
      return this.#resolveHalf(h, op, 0, transactionId);
    });
  }

  /** A half message not prepared lately (or an id in lower case), read back through the KeyIndex. */
  async #lookUp(transactionId: string): Promise<HalfMessage | undefined> {
    if (typeof transactionId !== 'string' || !/^[0-9A-Fa-f]{32}$/.test(transactionId))
      throw new MqgateError('MQ_ERR_TX_UNKNOWN', `"${String(transactionId)}" is not a transaction id`);
    const id = transactionId.toUpperCase();
    return this.#recent.get(id) ?? (await this.#store.getByMsgId(id, { topic: TRANS_HALF_TOPIC }));
  }

  /**
   * Resolves a half message once; answers how it ended. `asked`: the id a producer asked with,
   * which the answer carries; an end other than `op` is then a conflict (for the check-back
   * service, which does not pass it, it is just how the message ended).
   */
  #resolveHalf(
    half: HalfMessage,
    op: 'COMMIT' | 'ROLLBACK' | 'DISCARDED',
    checkTimes = 0,
    asked?: string,
  ): Promise<Resolution> {
    const key = half.queueOffset;
    const known = this.#state.op(key);
    if (known !== undefined && known !== 'CHECKED') {
      if (asked !== undefined && known !== op)
        return Promise.reject(
          new MqgateError('MQ_ERR_TX_CONFLICT', `transaction ${asked} was already resolved: ${known}`, {
            details: { state: known },
          }),
        );
      return Promise.resolve({ transactionId: asked ?? half.msgId, state: known });
    }
    if (this.#state.busy(key)) {
      // under way already: once it has ended, look again
      return new Promise<void>((wake) => {
        const waiting = this.#waiting.get(key);
        if (waiting === undefined) this.#waiting.set(key, [wake]);
        else waiting.push(wake);
      }).then(() => this.#resolveHalf(half, op, checkTimes, asked));
    }
    // a bit while a write is under way: a Map holding each write's promise kept them reachable
    // from an old table (see RecentHalves), and a Set of numbers cost three lookups
    this.#state.setBusy(key, true);
    if (op === 'DISCARDED') return this.#discard(half, checkTimes);
    if (op === 'ROLLBACK') return this.#write(half, op, checkTimes, '', undefined, asked);
    const forwarder = this.#opts.forwarder?.();
    if (forwarder?.owns(half.properties[TxProp.REAL_TOPIC] ?? half.topic) === true)
      return this.#forwardCommit(forwarder, half, checkTimes, asked);
    // a commit takes a recent half message from memory, body and id: a view, written again at
    // once (putMessage encodes before it returns)
    const record = this.#store.recentRecord(half.commitLogOffset, half.storeSize);
    if (record !== undefined)
      return this.#write(half, op, checkTimes, half.body ?? recordBodyView(record, 0), record, asked);
    if (half.body !== undefined) return this.#write(half, op, checkTimes, half.body, undefined, asked);
    return this.#bodyOf(half).then(
      (b) => this.#write(half, op, checkTimes, b, undefined, asked),
      (err: unknown) => {
        this.#release(key);
        throw err;
      },
    );
  }

  /**
   * Writes a commit (the real message, its own op record) or a rollback (an op record); see
   * #resolveHalf, which makes sure one runs at a time per half message. Promise callbacks, not
   * an async function: this runs for every transaction.
   */
  #write(
    half: HalfMessage,
    op: 'COMMIT' | 'ROLLBACK',
    checkTimes: number,
    body: Uint8Array | string,
    record: Uint8Array | undefined,
    asked: string | undefined,
  ): Promise<Resolution> {
    let m: MessageInput;
    try {
      m = op === 'COMMIT' ? committedMessage(half, body, record) : opRecord(half, op, checkTimes);
      // a committed message goes to its user topic, and to the op topic like a rollback
      this.#systemTopics();
      const r = this.#store.append(m);
      if (isRefused(r)) throw putError(m, r);
    } catch (err) {
      this.#release(half.queueOffset);
      return Promise.reject(err as Error);
    }
    return this.#store.written().then((outcome) => {
      try {
        if (outcome === 'OS_WRITE_FAILED') throw putError(m, WRITE_FAILED);
        this.#ended(half, op, checkTimes);
        return { transactionId: asked ?? half.msgId, state: op };
      } finally {
        this.#release(half.queueOffset);
      }
    });
  }

  /**
   * A commit of a topic on another backend: the real message goes there first, then the op
   * record here. A crash between the two leaves the half message pending, and a check-back
   * commits it again: at least once, as RocketMQ's own commits.
   */
  async #forwardCommit(
    f: Forwarder,
    half: HalfMessage,
    checkTimes: number,
    asked: string | undefined,
  ): Promise<Resolution> {
    try {
      const m = committedMessage(half, half.body ?? (await this.#bodyOf(half)));
      await f.forward({ ...m, dispatchAlso: undefined });
      await this.#put([opRecord(half, 'COMMIT', checkTimes)]);
      this.#ended(half, 'COMMIT', checkTimes);
      return { transactionId: asked ?? half.msgId, state: 'COMMIT' };
    } finally {
      this.#release(half.queueOffset);
    }
  }

  /**
   * Moves a half message checked too often to TRANS_CHECK_MAX_TIME_TOPIC: the copy and the op
   * record in one write, in that order (a torn tail can only lose the op record; a check asks
   * again).
   */
  async #discard(half: HalfMessage, checkTimes: number): Promise<Resolution> {
    try {
      const record = this.#store.recentRecord(half.commitLogOffset, half.storeSize);
      const body = half.body ?? (record === undefined ? await this.#bodyOf(half) : recordBodyView(record, 0));
      await this.#put([discardedMessage(half, body, checkTimes), opRecord(half, 'DISCARDED', checkTimes)]);
      this.#ended(half, 'DISCARDED', checkTimes);
      return { transactionId: half.msgId, state: 'DISCARDED' };
    } finally {
      this.#release(half.queueOffset);
    }
  }

  /** Notes how a half message ended, once its record is written. */
  #ended(half: HalfMessage, op: 'COMMIT' | 'ROLLBACK' | 'DISCARDED', checkTimes: number): void {
    this.#recent.delete(half);
    this.#state.set(half.queueOffset, op, checkTimes);
    this.stats.pending = Math.max(0, this.stats.pending - 1);
    if (op === 'COMMIT') this.stats.committed++;
    else if (op === 'ROLLBACK') this.stats.rolledBack++;
    else this.stats.discarded++;
  }

  /** Ends a write under way on a half message, waking resolutions that waited for it. */
  #release(key: number): void {
    this.#state.setBusy(key, false);
    if (this.#waiting.size === 0) return;
    const waiting = this.#waiting.get(key);
    if (waiting !== undefined) {
      this.#waiting.delete(key);
      for (const wake of waiting) wake();
    }
  }

  /** A half message's body read back from the log (not in memory any more). */
  async #bodyOf(half: HalfMessage): Promise<Buffer> {
    const m = await this.#store.getByCommitLogOffset(half.commitLogOffset);
    if (m === undefined || m.msgId !== half.msgId)
      throw new MqgateError(
        'MQ_ERR_TX_UNKNOWN',
        `half message ${half.msgId} is gone from the log (retention)`,
      );
    return m.body;
  }

  async #put(ms: MessageInput[]): Promise<void> {
    for (const m of ms) this.#topics.system(m.topic);
    const results = await this.#store.putMessages(ms);
    for (let i = 0; i < results.length; i++) checkPut(ms[i] as MessageInput, results[i] as PutMessageResult);
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

function checkPut(m: MessageInput, r: PutMessageResult): void {
  if (r.status !== 'PUT_OK' && r.status !== 'FLUSH_DISK_TIMEOUT') throw putError(m, r);
}

/** A system write (commit, op record, discard) the store refused or could not make. */
function putError(m: MessageInput, r: PutMessageResult): MqgateError {
  return new MqgateError('MQ_ERR_STORE_IO', `writing to ${m.topic} answered ${r.status}: ${r.reason ?? ''}`);
}

/**
 * A half message just written, from what was written and where. A text body is kept as it is
 * (strings do not change); bytes are not (the sender may use its buffer again before the
 * commit): the commit takes them from the log.
 */
function halfFrom(m: MessageInput, r: Appended): HalfMessage {
  return {
    msgId: r.msgId,
    topic: m.topic,
    queueId: m.queueId,
    queueOffset: r.queueOffset,
    commitLogOffset: r.commitLogOffset,
    storeSize: r.size,
    tag: m.tag,
    keys: m.keys ?? [],
    properties: m.properties ?? {},
    body: typeof m.body === 'string' ? m.body : undefined,
    bornTimestamp: m.bornTimestamp ?? r.storeTimestamp,
    storeTimestamp: r.storeTimestamp,
    flag: m.flag ?? 0,
    sysFlag: m.sysFlag ?? 0,
    reconsumeTimes: m.reconsumeTimes ?? 0,
    preparedTransactionOffset: 0,
  };
}
