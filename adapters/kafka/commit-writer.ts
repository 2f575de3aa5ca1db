/**
 * Commits of mqgate transactions to Kafka topics whose route asks for `transactionalCommit`:
 * the committed message and its commit mark (commit-marks.ts) go in one Kafka transaction, so
 * read_committed consumers see both or neither. The core writes its op record after that; a
 * gateway that dies in between leaves the half message pending, and its next commit (a
 * check-back after the restart) finds the mark and sends nothing again: once, not at least once.
 *
 * One Kafka transaction is open at a time (a transactional id allows no more): commits that
 * arrive meanwhile wait and share the next one, as sends share a produce request. When one
 * fails, the producer is replaced (InitProducerId ends what the old one left open: the
 * coordinator finishes a commit under way and aborts the rest) and the commits go again:
 * - CONCURRENT_TRANSACTIONS (a transaction begun while the coordinator still ends the last
 *   one, kafkajs #1315, which kafkajs retries a few times by itself) and a broker away;
 * - fencing (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH): another producer took the transactional
 *   id (this gateway restarted elsewhere with the same id), or the coordinator forgot ours;
 * - a commit with no answer (failed or timed out in EndTxn): it may have happened, so the
 *   marks say which did, and only the rest go again.
 * Until `confirmTimeoutMs` is spent; then the callers fail with a retriable 503, and a later
 * commit of the same message looks for its mark first.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { MqgateError } from '../../src/errors.js';
import { withTimeout } from '../../src/with-timeout.js';
import { CommitMarks } from './commit-marks.js';
import { kafkaError, protocolType } from './kafka-errors.js';
import type { PartitionBytes } from './request-budget.js';
import { RequestBudget, partitionBytes } from './request-budget.js';

export interface CommitWriterOptions {
  readonly kafka: Kafka;
  readonly backend: string;
  readonly transactionalId: () => string;
  readonly confirmTimeoutMs: number;
  /** A transaction's produce request takes commits up to about this size. */
  readonly maxRequestBytes: number;
  /** The marks of this transactional id (their topic is its own). */
  readonly marks: (transactionalId: string) => CommitMarks;
  /** Makes a marks topic. */
  readonly ensureMarksTopic: (topic: string) => Promise<void>;
  readonly logger: Logger;
}

interface Pending {
  readonly topic: string;
  readonly record: Message & { partition: number };
  readonly msgId: string;
  /** When the message was born: its mark, if any, is later. */
  readonly born: number;
  readonly parts: PartitionBytes;
  /** The topic's max.message.bytes (request-budget.ts). */
  readonly limit: number;
  readonly resolve: (offset: number) => void;
  readonly reject: (err: unknown) => void;
}

/** Commits in one Kafka transaction at most (their bytes: `maxRequestBytes`). */
const MAX_BATCH = 500;
/** A Kafka transaction left open by a gateway that died ends after this long at the latest. */
const TRANSACTION_TIMEOUT_MS = 15_000;
/** The pause before a failed transaction goes again. */
const RETRY_PAUSE_MS = 50;

export class CommitWriter {
  readonly #o: CommitWriterOptions;
  readonly #log: Logger;
  /** Commits of messages born before this may have been written by this gateway's last run. */
  readonly #startedAt = Date.now();
  /** Messages whose commit failed without an answer: it may have happened. */
  readonly #uncertain = new Set<string>();
  #waiting: Pending[] = [];
  #busy = false;
  #producer: Promise<Producer> | undefined;
  #marks: CommitMarks | undefined;
  #marksTopic: Promise<void> | undefined;
  /** Kafka transactions committed, tries that failed and went again, commits found already done. */
  readonly stats = { transactions: 0, retries: 0, found: 0 };

  constructor(o: CommitWriterOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'kafka-commits' });
  }

  /** Resolves with the message's offset (-1 when it was found committed before) once Kafka committed it. */
  commit(
    topic: string,
    record: Message & { partition: number },
    msgId: string,
    born: number,
    limit: number,
  ): Promise<number> {
    return new Promise((resolve, reject) => {
      const parts = partitionBytes([record]);
      this.#waiting.push({ topic, record, msgId, born, parts, limit, resolve, reject });
      if (!this.#busy) setImmediate(() => void this.#flush());
    });
  }

  async #flush(): Promise<void> {
    if (this.#busy || this.#waiting.length === 0) return;
    this.#busy = true;
    const budget = new RequestBudget(this.#o.maxRequestBytes);
    let n = 0;
    while (n < Math.min(this.#waiting.length, MAX_BATCH)) {
      const p = this.#waiting[n] as Pending;
      if (!budget.take(p.topic, p.parts, p.limit)) break;
      n++;
    }
    const batch = this.#waiting.splice(0, n);
    try {
      await this.#write(batch, Date.now() + this.#o.confirmTimeoutMs);
    } finally {
      this.#busy = false;
      if (this.#waiting.length > 0) setImmediate(() => void this.#flush());
    }
  }

  /** Writes `batch` in a Kafka transaction, again after failures until `deadline`; settles each. */
  async #write(batch: readonly Pending[], deadline: number): Promise<void> {
    let left = batch;
    try {
      const marks = (this.#marks ??= this.#o.marks(this.#id()));
      this.#marksTopic ??= this.#o.ensureMarksTopic(marks.topic);
      await this.#marksTopic.catch((err: unknown) => {
        this.#marksTopic = undefined;
        throw err;
      });
      // the producer first: its start ends what this transactional id left open (a commit
      // under way finishes), so the marks below are all there is
      await this.#connected();
      left = await this.#notFound(left, (p) => p.born < this.#startedAt || this.#uncertain.has(p.msgId));
      while (left.length > 0) {
        const began = Date.now();
        try {
          const offsets = await withTimeout(
            this.#transaction(left),
            deadline - began,
            'no end of the Kafka transaction',
          );
          this.stats.transactions++;
          left.forEach((p, i) => (this.#uncertain.delete(p.msgId), p.resolve(offsets[i] as number)));
          return;
        } catch (err) {
          const ending = !(err instanceof TransactionError) || err.ending;
          const cause = err instanceof TransactionError ? err.cause : err;
          // a commit with no answer may have happened: every later try looks for its mark first
          if (ending) for (const p of left) this.#uncertain.add(p.msgId);
          this.#replaceProducer();
          if (Date.now() + RETRY_PAUSE_MS >= deadline) throw cause;
          this.stats.retries++;
          this.#log.warn(
            { err: cause, type: protocolType(cause), commits: left.length },
            'Kafka transaction failed; again',
          );
          await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
          if (ending) {
            // the new producer's start ends the old transaction (the coordinator finishes a
            // commit under way first); then the marks say whether it happened
            await this.#connected();
            left = await this.#notFound(left, (p) => this.#uncertain.has(p.msgId), began);
          }
        }
      }
    } catch (err) {
      const e = kafkaError(err, this.#o.backend, 'transactional commit');
      const retriable = new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', e.message, { cause: err });
      for (const p of left) p.reject(e.code === 'MQ_ERR_BACKEND_UNAVAILABLE' ? retriable : e);
    }
  }

  /** Those of `batch` without a mark (looked up for those `check` picks); the rest resolve. */
  async #notFound(
    batch: readonly Pending[],
    check: (p: Pending) => boolean,
    since?: number,
  ): Promise<Pending[]> {
    const asked = batch.filter(check);
    if (asked.length === 0) return [...batch];
    const from = since ?? Math.min(...asked.map((p) => p.born));
    const found = await (this.#marks as CommitMarks).committed(
      asked.map((p) => p.msgId),
      from,
    );
    for (const p of batch)
      if (found.has(p.msgId)) {
        this.stats.found++;
        this.#uncertain.delete(p.msgId);
        p.resolve(-1);
      }
    return batch.filter((p) => !found.has(p.msgId));
  }

  /** One Kafka transaction: the messages and their marks; the messages' offsets. */
  async #transaction(batch: readonly Pending[]): Promise<number[]> {
    const producer = await this.#connected();
    try {
      const tx = await producer.transaction();
      const byTopic = new Map<string, (Message & { partition: number })[]>();
      for (const p of batch) {
        const list = byTopic.get(p.topic) ?? byTopic.set(p.topic, []).get(p.topic);
        list?.push(p.record);
      }
      const marks = batch.map((p) => CommitMarks.mark(p.msgId, p.topic, p.record.partition));
      const marksTopic = (this.#marks as CommitMarks).topic;
      const meta = await tx.sendBatch({
        acks: -1,
        topicMessages: [...byTopic, [marksTopic, marks] as const].map(([topic, messages]) => ({
          topic,
          messages,
        })),
      });
      const next = new Map(
        meta.map((m) => [`${m.topicName}\u0000${m.partition}`, Number(m.baseOffset ?? -1)]),
      );
      const offsets = batch.map((p) => {
        const key = `${p.topic}\u0000${p.record.partition}`;
        const at = next.get(key) ?? -1;
        if (at >= 0) next.set(key, at + 1);
        return at;
      });
      try {
        await tx.commit();
      } catch (err) {
        throw new TransactionError(err, true);
      }
      return offsets;
    } catch (err) {
      if (err instanceof TransactionError) throw err;
      // nothing was committed: the next producer's start aborts what this one began
      throw new TransactionError(err, false);
    }
  }

  #transactionalId: string | undefined;

  #id(): string {
    return (this.#transactionalId ??= this.#o.transactionalId());
  }

  #connected(): Promise<Producer> {
    if (this.#producer === undefined) {
      const p = this.#o.kafka.producer({
        transactionalId: this.#id(),
        transactionTimeout: TRANSACTION_TIMEOUT_MS,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        retry: { retries: 5, initialRetryTime: 50, maxRetryTime: 1000 },
      });
      // kafkajs starts the transactional id (InitProducerId) at the first transaction: an empty
      // one, aborted without a request, starts it now
      const connecting = p
        .connect()
        .then(() => p.transaction())
        .then((tx) => tx.abort())
        .then(() => p);
      this.#producer = connecting;
      connecting.catch(() => {
        if (this.#producer === connecting) this.#producer = undefined;
      });
    }
    return this.#producer;
  }

  /** The next transaction gets a new producer: its start fences the old one and ends its transaction. */
  #replaceProducer(): void {
    const old = this.#producer;
    this.#producer = undefined;
    void old?.then((p) => p.disconnect()).catch(() => undefined);
  }

  async close(): Promise<void> {
    const e = new MqgateError('MQ_ERR_BROKER_CLOSED', 'the kafka backend is closed');
    for (const p of this.#waiting.splice(0)) p.reject(e);
    const p = this.#producer;
    this.#producer = undefined;
    await p?.then((x) => x.disconnect()).catch(() => undefined);
  }

  /**
   * This gateway's transactional id for `backend`: kept in its data directory, so a restarted
   * gateway has the same one (its start ends what the last run left open) and two gateways
   * never share one (they would fence each other).
   */
  static transactionalId(dir: string): string {
    const file = path.join(dir, 'transactional-id');
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      const id = `mqgate-${randomBytes(8).toString('hex')}`;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(file, `${id}\n`);
      return id;
    }
  }
}

/** A failed transaction: `ending` when it failed in its commit (it may have happened). */
class TransactionError extends Error {
  readonly ending: boolean;
  constructor(cause: unknown, ending: boolean) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.ending = ending;
  }
}
