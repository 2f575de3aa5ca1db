/**
 * Sends to Kafka with every concurrent caller's records coalesced into one produce request
 * (kafkajs sends each `send()` as a request of its own and batches nothing by itself). What
 * arrives while a request is out waits for the next one, which takes everything waiting up to
 * `maxRequestBytes` and the topics' record batch limits (request-budget.ts): a group commit, so a busy gateway sends few large requests and an idle one
 * sends at once.
 *
 * One request at a time: kafkajs's idempotent producer numbers a partition's batches when it
 * builds a request and counts them on the answer, so two requests in flight would share
 * sequence numbers (OUT_OF_ORDER_SEQUENCE). It also keeps per-queue order across callers. A
 * request that fails or is not confirmed within `confirmTimeoutMs` fails every caller in it and
 * the producer is replaced: a new producer id, so a batch the broker did write cannot make it
 * take a later one for a duplicate of it (the callers retry: at least once, never lost).
 */
import { Partitioners } from 'kafkajs';
import type { Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import type { Logger } from 'pino';
import { MqgateError } from '../../src/errors.js';
import { kafkaError } from './kafka-errors.js';
import type { PartitionBytes } from './request-budget.js';
import { RequestBudget, partitionBytes } from './request-budget.js';

export interface ProduceBatcherOptions {
  readonly kafka: Kafka;
  readonly backend: string;
  readonly confirmTimeoutMs: number;
  /** A request takes waiting sends until it holds about this many bytes (one send at least). */
  readonly maxRequestBytes: number;
  readonly logger: Logger;
  /** Told after each request: ok, or the error it failed with (the adapter's health). */
  readonly onResult: (err: MqgateError | undefined) => void;
}

type Record = Message & { partition: number };

interface Pending {
  readonly topic: string;
  readonly records: readonly Record[];
  readonly parts: PartitionBytes;
  /** The topic's max.message.bytes: a partition's records in one request stay under it. */
  readonly limit: number;
  readonly resolve: (offsets: number[]) => void;
  readonly reject: (err: unknown) => void;
  /** Sent once in a request that failed for an unknown topic: now goes alone with its topic. */
  alone: boolean;
}

export class ProduceBatcher {
  readonly #o: ProduceBatcherOptions;
  #waiting: Pending[] = [];
  #busy = false;
  #scheduled = false;
  #producer: Promise<Producer> | undefined;
  /** Replace the producer once the request out is answered (see renew()). */
  #renew = false;
  #closed = false;

  constructor(o: ProduceBatcherOptions) {
    this.#o = o;
  }

  /**
   * Resolves with each record's offset once the broker confirmed all of them (acks: all);
   * `limit`: the topic's max.message.bytes (see request-budget.ts).
   */
  send(topic: string, records: readonly Record[], limit = Number.POSITIVE_INFINITY): Promise<number[]> {
    if (this.#closed)
      return Promise.reject(new MqgateError('MQ_ERR_BROKER_CLOSED', 'the kafka backend is closed'));
    return new Promise((resolve, reject) => {
      const parts = partitionBytes(records);
      this.#waiting.push({ topic, records, parts, limit, resolve, reject, alone: false });
      this.#schedule();
    });
  }

  /** The next request goes once this tick's sends are in (callers of the same tick share it). */
  #schedule(): void {
    if (this.#busy || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    if (this.#busy || this.#waiting.length === 0) return;
    this.#busy = true;
    const head = this.#waiting[0] as Pending;
    const budget = new RequestBudget(this.#o.maxRequestBytes);
    let n = 0;
    for (; n < this.#waiting.length; n++) {
      const p = this.#waiting[n] as Pending;
      if (n > 0 && head.alone && p.topic !== head.topic) break;
      if (!budget.take(p.topic, p.parts, p.limit)) break;
    }
    const batch = this.#waiting.splice(0, n);
    try {
      const offsets = await this.#request(batch);
      batch.forEach((p, i) => p.resolve(offsets[i] as number[]));
      this.#o.onResult(undefined);
    } catch (err) {
      const e = kafkaError(err, this.#o.backend, 'send');
      // a topic deleted meanwhile fails the whole request (and the producer's metadata):
      // the others' sends go again, each topic on its own, with a fresh producer
      const again = e.code === 'MQ_ERR_TOPIC_NOT_FOUND' ? batch.filter((p) => !p.alone) : [];
      for (const p of again) p.alone = true;
      this.#waiting.unshift(...again);
      for (const p of batch) if (!again.includes(p)) p.reject(e);
      // the broker is away: what waits would wait for the same failure (callers fail fast)
      if (e.code === 'MQ_ERR_BACKEND_UNAVAILABLE') for (const p of this.#waiting.splice(0)) p.reject(e);
      this.#o.onResult(e);
      this.#replaceProducer();
    } finally {
      if (this.#renew) this.#replaceProducer();
      this.#busy = false;
      if (this.#waiting.length > 0) this.#schedule();
    }
  }

  /** One produce request for `batch`: each pending's offsets, in its records' order. */
  async #request(batch: readonly Pending[]): Promise<number[][]> {
    const byTopic = new Map<string, Record[]>();
    for (const p of batch) {
      const list = byTopic.get(p.topic);
      if (list === undefined) byTopic.set(p.topic, [...p.records]);
      else list.push(...p.records);
    }
    const sent = this.#connected().then((producer) =>
      producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      }),
    );
    // the producer's connect counts too: a broker that is away fails the send in time
    const meta = await withTimeout(sent, this.#o.confirmTimeoutMs);
    // kafkajs writes a partition's records in the order given: offsets count up from its base
    const next = new Map<string, number>();
    for (const m of meta) next.set(`${m.topicName}\u0000${m.partition}`, baseOffset(m));
    return batch.map((p) =>
      p.records.map((r) => {
        const key = `${p.topic}\u0000${r.partition}`;
        const offset = next.get(key) ?? -1;
        if (offset >= 0) next.set(key, offset + 1);
        return offset;
      }),
    );
  }

  #connected(): Promise<Producer> {
    if (this.#producer === undefined) {
      const p = this.#o.kafka.producer({
        // every record names its partition; this only quiets kafkajs's warning about defaults
        createPartitioner: Partitioners.DefaultPartitioner,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        // a few quick tries inside one request; the caller's retry does the rest
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
      });
      const connecting = p.connect().then(() => p);
      this.#producer = connecting;
      connecting.catch(() => {
        if (this.#producer === connecting) this.#producer = undefined;
      });
    }
    return this.#producer;
  }

  /**
   * A fresh producer for the next request. kafkajs keeps every topic a producer ever sent to in
   * its metadata requests, and once one is deleted every refresh fails (UNKNOWN_TOPIC_OR_PARTITION
   * for all sends): the adapter renews the producer when it deletes a topic.
   */
  renew(): void {
    if (this.#busy) this.#renew = true;
    else this.#replaceProducer();
  }

  #replaceProducer(): void {
    const old = this.#producer;
    this.#producer = undefined;
    this.#renew = false;
    void old?.then((p) => p.disconnect()).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const e = new MqgateError('MQ_ERR_BROKER_CLOSED', 'the kafka backend is closed');
    for (const p of this.#waiting.splice(0)) p.reject(e);
    const p = this.#producer;
    this.#producer = undefined;
    await p?.then((x) => x.disconnect()).catch(() => undefined);
  }
}

function baseOffset(m: RecordMetadata): number {
  return Number(m.baseOffset ?? m.offset ?? -1);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', `not confirmed within ${ms} ms`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
