/**
 * A group's consumer of one topic kept in RabbitMQ streams (`queueType: stream`), as a Kafka
 * consumer reads a log: each of the topic's streams is read from the group's committed offset,
 * which mqgate keeps (a stream has no acks that remove anything); at most `credit` deliveries
 * are out; an ack moves the committed offset over the contiguous acked prefix; a release is
 * read again from memory (deliveryAttempt + 1). After a lost connection, a restart of the
 * gateway or a reset, reading starts again at the committed offset (at least once).
 */
import type { Channel, ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import type { OffsetTarget } from '../../src/broker/index.js';
import { HandOff } from '../../src/hand-off.js';
import type { StoredMessage } from '../../src/message/message.js';
import type { GroupPositions } from '../shared/group-positions.js';
import { QueueState } from '../shared/queue-state.js';
import type { Delivery, DeliveryStream } from '../spi.js';
import { decode } from './codec.js';
import type { RabbitConnection } from './connection.js';
import { startArgument, streamOffset } from './stream-reads.js';
import { streamQueue } from './topology.js';

export interface StreamConsumerOptions {
  readonly conn: RabbitConnection;
  readonly group: string;
  readonly topic: string;
  readonly queues: number;
  readonly credit: number;
  /** Where a group without a committed offset starts (default LAST). */
  readonly start: OffsetTarget | undefined;
  readonly positions: GroupPositions;
  readonly logger: Logger;
  readonly onClose: () => void;
}

interface Waiting {
  readonly q: QueueState;
  readonly m: StoredMessage;
  readonly ack: () => void;
}

export class StreamConsumer implements DeliveryStream {
  readonly #o: StreamConsumerOptions;
  readonly #out = new HandOff<Delivery>();
  #states: QueueState[] = [];
  /** Released messages kept to be handed out again, by queue state and offset. */
  readonly #redo = new Map<QueueState, Map<number, StoredMessage>>();
  #waiting: Waiting[] = [];
  #unsettled = 0;
  #ch: Channel | undefined;
  #gen = 0;
  #closed = false;
  readonly #offUp: () => void;

  constructor(o: StreamConsumerOptions) {
    this.#o = o;
    this.#offUp = o.conn.onUp((model) => void this.#subscribe(model));
  }

  get topic(): string {
    return this.#o.topic;
  }

  get group(): string {
    return this.#o.group;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Reads again from the committed offsets (they were moved: a reset or a commit). */
  restart(): void {
    const model = (() => {
      try {
        return this.#o.conn.model();
      } catch {
        return undefined; // down: the next connection subscribes anyway
      }
    })();
    if (model !== undefined) void this.#subscribe(model);
  }

  async #subscribe(model: ChannelModel): Promise<void> {
    if (this.#closed) return;
    const gen = ++this.#gen;
    const old = this.#ch;
    this.#ch = undefined;
    await old?.close().catch(() => {});
    this.#waiting = [];
    this.#unsettled = 0;
    this.#redo.clear();
    const { group, topic, queues, positions } = this.#o;
    try {
      // a queue the group never read starts where it asks (its first message fixes the offset)
      const starts = Array.from({ length: queues }, (_, q) => positions.get(group, topic, q));
      const states = starts.map((offset) => new QueueState(offset ?? 0));
      const ch = await model.createChannel();
      ch.on('error', (err: Error) => this.#o.logger.warn({ err, topic }, 'stream consumer channel closed'));
      ch.on('close', () => {
        if (this.#ch !== ch) return;
        this.#ch = undefined;
        this.#again(model, gen); // closed by the broker, not with the connection: read anew
      });
      if (this.#closed || gen !== this.#gen) return void (await ch.close().catch(() => {}));
      this.#ch = ch;
      this.#states = states;
      await ch.prefetch(Math.max(1, Math.ceil(this.#o.credit / queues)), false);
      for (const [q, s] of states.entries()) {
        let fresh = starts[q] === undefined;
        const from = this.#o.start ?? 'LAST';
        await ch.consume(
          streamQueue(topic, q),
          (msg) => {
            if (msg === null) return this.#again(model, gen); // the stream went away or moved
            if (gen !== this.#gen) return;
            const offset = streamOffset(msg);
            const m = decode(topic, msg, offset);
            if (fresh) {
              if (typeof from === 'number' && m.bornTimestamp < from) return void ch.ack(msg); // its chunk began earlier
              fresh = false;
              s.moveTo(offset);
              positions.set(group, topic, q, offset);
            }
            if (offset < s.next) return void ch.ack(msg); // read before (a chunk starts earlier)
            s.next = offset + 1;
            this.#waiting.push({ q: s, m, ack: () => ch.ack(msg) });
            this.#pump();
          },
          {
            noAck: false,
            arguments: {
              'x-stream-offset': startArgument(
                !fresh
                  ? { offset: s.committed }
                  : from === 'FIRST'
                    ? 'first'
                    : from === 'LAST'
                      ? 'next'
                      : { time: from },
              ),
            },
          },
        );
      }
    } catch (err) {
      // the connection went (its recovery calls again), or a stream is not back yet: try again
      this.#o.logger.warn({ err, topic }, 'could not read the streams; trying again');
      this.#again(model, gen);
    }
  }

  /** Reads anew on `model` in a second, unless something newer happened meanwhile. */
  #again(model: ChannelModel, gen: number): void {
    setTimeout(() => {
      if (this.#closed || gen !== this.#gen || !this.#o.conn.isCurrent(model)) return;
      void this.#subscribe(model);
    }, 1000).unref();
  }

  #pump(): void {
    while (this.#unsettled < this.#o.credit) {
      const again = this.#takeRedo();
      if (again !== undefined) {
        this.#hand(again.q, again.m);
        continue;
      }
      const w = this.#waiting.shift();
      if (w === undefined) return;
      w.ack(); // the stream's credit: the message is ours to hand out now
      this.#hand(w.q, w.m);
    }
  }

  #takeRedo(): { q: QueueState; m: StoredMessage } | undefined {
    for (const [q, byOffset] of this.#redo)
      for (const [offset, m] of byOffset) {
        byOffset.delete(offset);
        if (byOffset.size === 0) this.#redo.delete(q);
        return { q, m };
      }
    return undefined;
  }

  #hand(q: QueueState, m: StoredMessage): void {
    const offset = m.queueOffset;
    const gen = q.gen;
    q.out.add(offset);
    this.#unsettled++;
    const attempt = (q.attempts.get(offset) ?? 0) + 1;
    const settle = async (acked: boolean): Promise<boolean> => {
      if (this.#closed || q.gen !== gen || this.#states[m.queueId] !== q || !q.out.delete(offset))
        return false;
      this.#unsettled--;
      if (acked) this.#acked(q, m);
      else {
        q.attempts.set(offset, attempt);
        let byOffset = this.#redo.get(q);
        if (byOffset === undefined) this.#redo.set(q, (byOffset = new Map()));
        byOffset.set(offset, m);
      }
      this.#pump();
      return true;
    };
    // a stream has no retry of its own (the core's): a nack gives the message back
    this.#out.push({
      message: m,
      deliveryAttempt: attempt,
      ack: () => settle(true),
      nack: () => settle(false),
      release: () => settle(false),
    });
  }

  #acked(q: QueueState, m: StoredMessage): void {
    if (q.ack(m.queueOffset)) this.#o.positions.set(this.#o.group, this.#o.topic, m.queueId, q.committed);
  }

  /** Deliveries out and not settled. */
  get unsettled(): number {
    return this.#unsettled;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#offUp();
    this.#o.onClose();
    this.#out.end();
    this.#o.positions.save();
    const ch = this.#ch;
    this.#ch = undefined;
    await ch?.close().catch(() => {});
  }

  [Symbol.asyncIterator](): AsyncIterator<Delivery> {
    return this.#out.iterator(() => this.close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
