/**
 * `local-bare`: an embedded log of its own (a MessageStore in its own directory) that declares
 * only the primitives, plus seek (a log can read by offset, as Kafka can), so the gateway's
 * core emulates everything else over it: delays, timers, transactions, POP, retry, DLQ,
 * broadcasting, orderly, filters, key query. It proves the emulation layer without a remote
 * broker; compare runs it as "core emulation" beside `local`. With `seek: false` it stands for
 * a queue broker that cannot read by offset (RabbitMQ's classic queues).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { readJsonFile, writeJsonFile } from '../../src/broker/json-file.js';
import type { OffsetTarget, QueueOffset } from '../../src/broker/index.js';
import { MqgateError } from '../../src/errors.js';
import type { MessageInput } from '../../src/message/message.js';
import { MessageStore } from '../../src/store/index.js';
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
import type { StreamSource } from './bare-stream.js';
import { BareStream } from './bare-stream.js';
import { QueueState } from '../shared/queue-state.js';
import { GroupPositions } from '../shared/group-positions.js';

export interface BareOptions {
  readonly dir: string;
  readonly seek: boolean;
  readonly maxMessageSize: number;
  readonly logger: Logger;
}

export class BareAdapter implements BrokerAdapter {
  readonly type = 'local-bare';
  readonly extras: Extras;
  readonly #o: BareOptions;
  #store: MessageStore | undefined;
  #positions: GroupPositions | undefined;
  #lastError: string | undefined;
  /** Queues per topic, kept in `topics.json`. */
  #topics = new Map<string, number>();
  /** Group consumption state, by group and topic, then queue. */
  readonly #states = new Map<string, QueueState[]>();
  readonly #starts = new Map<string, OffsetTarget | undefined>();
  readonly #streams = new Set<BareStream>();
  #offArrival: (() => void) | undefined;
  readonly #source: StreamSource;
  #connecting: Promise<void> | undefined;

  constructor(o: BareOptions) {
    this.#o = o;
    this.#source = {
      store: () => this.#store,
      positions: () => this.#positions as GroupPositions,
      queueState: (g, t, q) => this.#queueState(g, t, q),
      unsettled: (g, t) =>
        (this.#states.get(`${g}\u0001${t}`) ?? []).reduce((n, q) => n + (q?.out.size ?? 0), 0),
      queues: (t) => this.#topics.get(t) ?? 0,
    };
    this.extras = o.seek
      ? {
          seek: {
            pull: (topic, queueId, offset, max) => this.#up().getMessages(topic, queueId, offset, max),
            queueOffsets: async (topic) => this.#queueOffsets(topic),
            offsets: (group, topic) => this.#offsets(group, topic),
            commitOffset: async (group, topic, queueId, offset) =>
              this.#moveQueue(group, topic, queueId, offset),
            resetOffsets: (group, topic, to) => this.#reset(group, topic, to),
            offsetAt: (topic, queueId, time) => this.#up().offsetByTime(topic, queueId, time),
          },
        }
      : {};
  }

  capabilities(): Capabilities {
    return {
      features: {
        startPosition: { support: 'native', how: 'FIRST, LAST or a time, read from the log' },
        ...(this.#o.seek
          ? { seek: { support: 'native' as const, how: 'ConsumeQueue offsets' } }
          : { seek: { support: 'none' as const, how: 'configured without seek (seek: false)' } }),
      },
      maxMessageSize: this.#o.maxMessageSize,
    };
  }

  /** Opens the log; a second call while one is under way waits for it. */
  connect(): Promise<void> {
    if (this.#store !== undefined) return Promise.resolve();
    this.#connecting ??= this.#open().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #open(): Promise<void> {
    fs.mkdirSync(this.#o.dir, { recursive: true });
    const data = readJsonFile(path.join(this.#o.dir, 'topics.json')) as Record<string, number> | undefined;
    this.#topics = new Map(Object.entries(data ?? {}));
    this.#positions = new GroupPositions(this.#o.dir);
    this.#states.clear();
    try {
      this.#store = await MessageStore.open({
        dataDir: path.join(this.#o.dir, 'log'),
        maxMessageSize: this.#o.maxMessageSize,
        logger: this.#o.logger,
      });
    } catch (e) {
      this.#lastError = e instanceof Error ? e.message : String(e);
      throw e;
    }
    this.#lastError = undefined;
    this.#offArrival = this.#store.onArrival((topic) => {
      for (const s of this.#streams) if (s.topic === topic) s.wake();
    });
    for (const s of this.#streams) s.wake();
  }

  /** Closes the log; open streams wait, and go on from the committed offsets on connect(). */
  async close(): Promise<void> {
    const store = this.#store;
    if (store === undefined) return;
    this.#store = undefined;
    this.#lastError = 'closed';
    this.#offArrival?.();
    for (const s of this.#streams) s.dropHandedOut();
    this.#positions?.save();
    await store.close();
  }

  health(): Health {
    return this.#store === undefined ? { status: 'down', lastError: this.#lastError } : { status: 'up' };
  }

  #up(): MessageStore {
    if (this.#store === undefined)
      throw new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', `the local-bare log at ${this.#o.dir} is closed`);
    return this.#store;
  }

  async ensureTopic(topic: string, queues: number): Promise<void> {
    if ((this.#topics.get(topic) ?? 0) >= queues) return;
    this.#topics.set(topic, queues);
    writeJsonFile(path.join(this.#o.dir, 'topics.json'), Object.fromEntries(this.#topics));
  }

  async ensureGroup(): Promise<void> {}

  async send(topic: string, batch: readonly OutboundMessage[]): Promise<SendReceipt[]> {
    const queues = this.#topics.get(topic) ?? 0;
    const inputs = batch.map((m): MessageInput => {
      if (m.queueId >= queues)
        throw new MqgateError(
          'MQ_ERR_QUEUE_INVALID',
          `topic "${topic}" has ${queues} queues here, not ${m.queueId}`,
        );
      return { topic, ...m };
    });
    const results = await this.#up().putMessages(inputs);
    return results.map((r) => {
      if (r.status === 'PUT_OK' || r.status === 'FLUSH_DISK_TIMEOUT')
        return { queueOffset: r.queueOffset ?? -1 };
      if (r.status === 'MESSAGE_ILLEGAL' || r.status === 'PROPERTIES_SIZE_EXCEEDED')
        throw new MqgateError('MQ_ERR_BACKEND_REFUSED', `local-bare: ${r.reason ?? r.status}`);
      throw new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', `local-bare: ${r.reason ?? r.status}`);
    });
  }

  consume(group: string, topic: string, o: ConsumeOptions): DeliveryStream {
    this.#starts.set(`${group}\u0001${topic}`, o.from);
    const stream = new BareStream(this.#source, group, topic, o.credit, () => this.#streams.delete(stream));
    this.#streams.add(stream);
    return stream;
  }

  /** A group's state on a queue: from its committed offset, else where the group starts. */
  async #queueState(group: string, topic: string, queueId: number): Promise<QueueState> {
    const key = `${group}\u0001${topic}`;
    let list = this.#states.get(key);
    if (list === undefined) this.#states.set(key, (list = []));
    const known = list[queueId];
    if (known !== undefined) return known;
    const store = this.#up();
    const positions = this.#positions as GroupPositions;
    let offset = positions.get(group, topic, queueId);
    if (offset === undefined) {
      const from = this.#starts.get(key);
      offset =
        from === 'FIRST'
          ? store.minOffset(topic, queueId)
          : typeof from === 'number'
            ? await store.offsetByTime(topic, queueId, from)
            : store.maxOffset(topic, queueId);
      positions.set(group, topic, queueId, offset);
    }
    return (list[queueId] ??= new QueueState(offset));
  }

  #queueOffsets(topic: string): { queueId: number; minOffset: number; maxOffset: number }[] {
    const store = this.#up();
    return Array.from({ length: this.#topics.get(topic) ?? 0 }, (_, queueId) => ({
      queueId,
      minOffset: store.minOffset(topic, queueId),
      maxOffset: store.maxOffset(topic, queueId),
    }));
  }

  async #offsets(group: string, topic: string): Promise<QueueOffset[]> {
    const out: QueueOffset[] = [];
    for (const q of this.#queueOffsets(topic)) {
      const s = await this.#queueState(group, topic, q.queueId);
      out.push({
        ...q,
        offset: s.committed,
        lag: Math.max(0, q.maxOffset - s.committed),
        inflight: s.out.size,
      });
    }
    return out;
  }

  async #moveQueue(group: string, topic: string, queueId: number, offset: number): Promise<void> {
    const { minOffset, maxOffset } = this.#queueOffsets(topic)[queueId] ?? { minOffset: 0, maxOffset: 0 };
    if (!Number.isSafeInteger(offset) || offset < minOffset || offset > maxOffset)
      throw new MqgateError(
        'MQ_ERR_OFFSET_INVALID',
        `queue ${queueId} holds offsets ${minOffset}..${maxOffset}, not ${offset}`,
      );
    (await this.#queueState(group, topic, queueId)).moveTo(offset);
    (this.#positions as GroupPositions).set(group, topic, queueId, offset);
    for (const s of this.#streams) if (s.topic === topic) s.wake();
  }

  async #reset(group: string, topic: string, to: OffsetTarget): Promise<void> {
    const store = this.#up();
    for (const q of this.#queueOffsets(topic)) {
      const offset =
        to === 'FIRST'
          ? q.minOffset
          : to === 'LAST'
            ? q.maxOffset
            : await store.offsetByTime(topic, q.queueId, to);
      await this.#moveQueue(group, topic, q.queueId, offset);
    }
  }
}
