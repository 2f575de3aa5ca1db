/**
 * `rabbitmq`: topics on RabbitMQ (3.10 and later) through amqplib, as topology.ts draws it.
 * Native: delay levels (a TTL queue per level), retry (copies through the level queues back to
 * the one group's queue) and the per-group DLQ, orderly groups (single active consumer,
 * prefetch 1). The gateway's core supplies the rest over the primitives: timers, transactions,
 * POP (invisibility over unacked deliveries), broadcasting (a queue set per consumer), tag and
 * SQL92 filters, key query. Quorum queues keep no log: no start position and no seek.
 */
import type { Logger } from 'pino';
import { retryMessage } from '../../src/broker/index.js';
import { MqgateError } from '../../src/errors.js';
import type { StoredMessage } from '../../src/message/message.js';
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
import { encode, outbound } from './codec.js';
import { RabbitConnection } from './connection.js';
import { DeadLetters } from './dead-letters.js';
import { GroupStream } from './group-stream.js';
import type { DelayKind } from './topology.js';
import {
  DELAY_EXCHANGE,
  TOPICS_EXCHANGE,
  declareDelay,
  declareGroup,
  delaySelector,
  routingKey,
  shardQueue,
} from './topology.js';

export interface RabbitOptions {
  readonly name: string;
  readonly url: string;
  readonly confirmTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly deliveryLimit: number;
  readonly releaseAfterMs: number;
  readonly memberExpiresMs: number;
  /** The gateway's delay levels, in ms (level n is index n - 1). */
  readonly delayLevelsMs: readonly number[];
  readonly maxMessageSize: number;
  readonly logger: Logger;
}

/** RabbitMQ's own default limit of a message body (`max_message_size`, 128 MiB). */
const RABBIT_MAX_MESSAGE = 128 * 1024 * 1024;

export class RabbitAdapter implements BrokerAdapter {
  readonly type = 'rabbitmq';
  readonly extras: Extras;
  readonly #o: RabbitOptions;
  readonly #conn: RabbitConnection;
  readonly #dlq: DeadLetters;
  readonly #topics = new Map<string, number>();
  /** Delay queues declared on the current connection (`d500`, `r10000`). */
  #delays = new Set<string>();

  constructor(o: RabbitOptions) {
    this.#o = o;
    this.#conn = new RabbitConnection({
      url: o.url,
      name: `rabbitmq backend "${o.name}"`,
      confirmTimeoutMs: o.confirmTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      logger: o.logger,
    });
    this.#conn.onUp(() => (this.#delays = new Set()));
    this.#dlq = new DeadLetters(this.#conn);
    this.extras = {
      deadLetter: { list: (g, x) => this.#dlq.list(g, x), resend: (g, id) => this.#dlq.resend(g, id) },
    };
  }

  capabilities(): Capabilities {
    const native = (how: string) => ({ support: 'native' as const, how });
    const none = (how: string) => ({ support: 'none' as const, how });
    return {
      features: {
        delayLevels: native(
          'a TTL queue per level (mqgate.delay.{ms}ms), dead-lettered to the topic when due',
        ),
        retry: native(
          'a copy through the level TTL queues (mqgate.retry.{ms}ms), dead-lettered to the one group queue',
        ),
        deadLetter: native('%DLQ%{group} queue; RabbitMQ dead-letters there past x-delivery-limit too'),
        orderly: native('single active consumer on each queue of the group, prefetch 1'),
        startPosition: none(
          "a group's quorum queues take what is sent from its first receive or subscribe on; RabbitMQ keeps no log of them",
        ),
        seek: none('quorum queues cannot be read by offset'),
      },
      maxMessageSize: Math.min(this.#o.maxMessageSize, RABBIT_MAX_MESSAGE),
    };
  }

  connect(): Promise<void> {
    return this.#conn.open();
  }

  close(): Promise<void> {
    return this.#conn.close();
  }

  health(): Health {
    const version = this.#conn.serverVersion;
    return this.#conn.up
      ? { status: 'up', version }
      : { status: 'down', lastError: this.#conn.lastError, version };
  }

  async ensureTopic(topic: string, queues: number): Promise<void> {
    this.#conn.model(); // a clear 503 while the broker is away
    if ((this.#topics.get(topic) ?? 0) < queues) this.#topics.set(topic, queues);
  }

  async ensureGroup(
    group: string,
    topic: string,
    o: { orderly?: boolean; member?: boolean } = {},
  ): Promise<void> {
    const queues = this.#queues(topic);
    await this.#conn.declare((ch) =>
      declareGroup(ch, group, topic, queues, {
        deliveryLimit: this.#o.deliveryLimit,
        orderly: o.orderly === true,
        expiresMs: o.member === true ? this.#o.memberExpiresMs : undefined,
      }),
    );
  }

  #queues(topic: string): number {
    const n = this.#topics.get(topic);
    if (n === undefined)
      throw new MqgateError(
        'MQ_ERR_TOPIC_NOT_FOUND',
        `"${topic}" is not known to rabbitmq backend "${this.#o.name}"`,
      );
    return n;
  }

  async send(topic: string, batch: readonly OutboundMessage[]): Promise<SendReceipt[]> {
    const queues = this.#queues(topic);
    const sends: Promise<void>[] = [];
    for (const m of batch) {
      if (m.queueId >= queues)
        throw new MqgateError(
          'MQ_ERR_QUEUE_INVALID',
          `topic "${topic}" has ${queues} queues, not ${m.queueId}`,
        );
      const key = routingKey(topic, m.queueId, m.tag);
      if (m.delayLevel === undefined)
        sends.push(this.#conn.publisher.publish(TOPICS_EXCHANGE, key, encode(m)));
      else {
        const ms = this.#levelMs(m.delayLevel);
        sends.push(
          this.#delay('d', ms).then(() =>
            this.#conn.publisher.publish(DELAY_EXCHANGE, key, encode(m, 0, delaySelector('d', ms))),
          ),
        );
      }
    }
    await Promise.all(sends);
    return batch.map(() => ({ queueOffset: -1 }));
  }

  #levelMs(level: number): number {
    const levels = this.#o.delayLevelsMs;
    return levels[Math.min(Math.max(1, level), levels.length) - 1] as number;
  }

  /** Declares a delay's TTL queue once per connection. */
  async #delay(kind: DelayKind, ms: number): Promise<void> {
    const id = `${kind}${ms}`;
    if (this.#delays.has(id)) return;
    await this.#conn.declare((ch) => declareDelay(ch, kind, ms));
    this.#delays.add(id);
  }

  consume(group: string, topic: string, o: ConsumeOptions): DeliveryStream {
    const queues = Array.from({ length: this.#queues(topic) }, (_, q) => shardQueue(topic, group, q));
    return new GroupStream(this.#conn, topic, queues, {
      credit: o.credit,
      orderly: o.orderly === true,
      releaseAfterMs: this.#o.releaseAfterMs,
      sendBack: (m, x) => this.#sendBack(group, topic, m, x),
      logger: this.#o.logger,
    });
  }

  /** The broker's retry of a failed message: a copy back to the group's queue after the delay, or to its DLQ. */
  async #sendBack(
    group: string,
    topic: string,
    m: StoredMessage,
    o: { delayLevel?: number; deadLetter?: boolean },
  ): Promise<void> {
    if (o.deadLetter === true) return this.#dlq.write(group, m);
    const ms = this.#levelMs(o.delayLevel ?? 1);
    await this.#delay('r', ms);
    const copy = retryMessage(group, m);
    await this.#conn.publisher.publish(
      DELAY_EXCHANGE,
      shardQueue(topic, group, m.queueId),
      encode(
        { ...outbound(m), properties: copy.properties ?? {} },
        m.reconsumeTimes + 1,
        delaySelector('r', ms),
      ),
    );
  }
}
