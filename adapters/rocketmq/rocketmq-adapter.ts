/**
 * `rocketmq`: topics on Apache RocketMQ 5 through its gRPC proxy (rocketmq-client-nodejs), with
 * what the proxy lacks (topics, groups) over the remoting protocol (broker-admin.ts). A topic is
 * a MIXED topic with the queues the core asks for; every send goes to the queue the core named,
 * through a message group the proxy hashes there (queue-groups.ts); a group's stream is a
 * SimpleConsumer of the group (RocketMQ's POP), so several gateways share a group's messages as
 * RocketMQ hands them out.
 *
 * This first cut declares no feature native: the core supplies delays, transactions, POP,
 * retries, filters and the rest over send and consume, while the native mappings (README,
 * "RocketMQ") come one by one with their conformance cases. Start positions and seek, which the
 * core cannot supply without reads by offset, are `none` until they come over remoting.
 */
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import type { Logger } from 'pino';
import { MqgateError } from '../../src/errors.js';
import { PopStream } from '../shared/pop-stream.js';
import type {
  BrokerAdapter,
  Capabilities,
  ConsumeOptions,
  DeliveryStream,
  Extras,
  GroupOptions,
  Health,
  OutboundMessage,
  SendReceipt,
} from '../spi.js';
import { BrokerAdmin, type TopicRoute } from './broker-admin.js';
import { BrokerQueries } from './broker-queries.js';
import { listening, ProxyHealth } from './proxy-health.js';
import { Publisher } from './publisher.js';
import { RemotingClient } from './remoting-client.js';
import { rocketmqError } from './rocketmq-errors.js';
import { SimplePop } from './simple-pop.js';

export interface RocketmqOptions {
  readonly name: string;
  /** The gRPC proxy, host:port. */
  readonly endpoints: string;
  /** The name server, host:port (topics and groups are made through it). */
  readonly namesrv: string;
  /** How long a send (or another request to the proxy) waits for its answer. */
  readonly confirmTimeoutMs: number;
  /** How long a remoting request waits for its answer. */
  readonly connectTimeoutMs: number;
  /** The gateway's largest message body. */
  readonly maxMessageSize: number;
  readonly logger: Logger;
}

/** RocketMQ's default maxMessageSize (and the proxy's body limit). */
const BROKER_MAX_BODY = 4 * 1024 * 1024;
/** A receive long-polls this long (the proxy takes 5 s to 20 s). */
const LONG_POLL_MS = 5000;

/** The client logs to ~/logs/rocketmq unless given a logger: ours, quieter. */
function clientLogger(log: Logger): {
  info(): void;
  debug(): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
} {
  return {
    info: () => undefined,
    debug: () => undefined,
    warn: (...a: unknown[]) => log.warn({ client: a.map(String).join(' ') }, 'rocketmq client'),
    error: (...a: unknown[]) => log.warn({ client: a.map(String).join(' ') }, 'rocketmq client'),
  };
}

export class RocketmqAdapter implements BrokerAdapter {
  readonly type = 'rocketmq';
  readonly extras: Extras = {};
  readonly #o: RocketmqOptions;
  readonly #remoting: RemotingClient;
  readonly #admin: BrokerAdmin;
  readonly #queries: BrokerQueries;
  readonly #producer: Producer;
  readonly #publisher: Publisher;
  /** Write queues per topic (over all its brokers), as last read from its route. */
  readonly #queues = new Map<string, number>();
  readonly #streams = new Set<DeliveryStream>();
  #producerStarted: Promise<void> | undefined;
  readonly #health: ProxyHealth;

  constructor(o: RocketmqOptions) {
    this.#o = o;
    this.#remoting = new RemotingClient({ timeoutMs: o.connectTimeoutMs });
    this.#admin = new BrokerAdmin(this.#remoting, o.namesrv);
    this.#queries = new BrokerQueries(this.#admin);
    this.#producer = new Producer({
      endpoints: o.endpoints,
      namespace: '',
      requestTimeout: o.confirmTimeoutMs,
      logger: clientLogger(o.logger),
    });
    this.#publisher = new Publisher(this.#producer, o.name);
    this.#health = new ProxyHealth(o.endpoints);
  }

  capabilities(): Capabilities {
    const notYet = (how: string) => ({ support: 'none' as const, how: `not yet in this adapter: ${how}` });
    return {
      features: {
        // the core cannot supply these without reads by offset: they come native, over remoting
        startPosition: notYet('a new group is placed by a server-side offset reset (planned)'),
        seek: notYet('pull, offsets and resets over remoting (planned)'),
      },
      maxMessageSize: Math.min(this.#o.maxMessageSize, BROKER_MAX_BODY),
    };
  }

  /**
   * Finds the cluster through the name server and the gRPC proxy listening; starts the producer
   * the first time. The gateway's health loop calls it again while the backend is down.
   */
  async connect(): Promise<void> {
    try {
      await this.#admin.masters();
      await listening(this.#o.endpoints, this.#o.connectTimeoutMs);
      await (this.#producerStarted ??= this.#producer.startup().catch((err: unknown) => {
        this.#producerStarted = undefined;
        throw err;
      }));
      this.#health.report(undefined);
    } catch (err) {
      const e = rocketmqError(err, this.#o.name, 'connect');
      this.#health.report(e);
      throw e;
    }
  }

  async close(): Promise<void> {
    for (const s of [...this.#streams]) await s.close();
    await this.#producer.shutdown().catch(() => undefined);
    this.#remoting.close();
    this.#health.close();
  }

  health(): Health {
    return this.#health.get();
  }

  async ensureTopic(topic: string, queues: number): Promise<void> {
    const route = await this.#admin.route(topic);
    const have = route === undefined ? 0 : writeQueues(route);
    const type = route === undefined ? undefined : (await this.#admin.topicConfig(topic))?.attributes;
    const mixed = (type as Record<string, string> | undefined)?.['message.type'] === 'MIXED';
    if (have < queues || !mixed) {
      const perBroker = Math.max(queues, ...(route?.queues.map((q) => q.writeQueueNums) ?? []));
      await this.#admin.createTopic(topic, { queues: perBroker, messageType: 'MIXED' });
    }
    await this.#refreshQueues(topic);
  }

  /**
   * Makes the group, and fixes a new group's place in the topic at its end: sends after this are
   * the group's. (Left alone, a POP consumer's first receive places a group with no offsets at
   * the end then, or at 0 only while the queue's first message is still in the broker's memory:
   * after a broker restart, messages sent meanwhile would be skipped.)
   */
  async ensureGroup(group: string, topic: string, _o?: GroupOptions): Promise<void> {
    // no group option is native yet (orderly, filter and start position are the core's)
    try {
      await this.#admin.createGroup(group);
      const offsets = await this.#queries.groupOffsets(group, topic);
      if (offsets.every((q) => q.offset < 0)) await this.#queries.resetOffsets(group, topic, { last: true });
    } catch (err) {
      throw rocketmqError(err, this.#o.name, `make group "${group}" of "${topic}"`);
    }
  }

  async send(topic: string, batch: readonly OutboundMessage[]): Promise<SendReceipt[]> {
    try {
      const receipts = await this.#publisher.send(topic, await this.#queuesOf(topic), batch);
      this.#health.report(undefined);
      return receipts;
    } catch (err) {
      const e = rocketmqError(err, this.#o.name, `send to "${topic}"`);
      this.#health.report(e);
      throw e;
    }
  }

  consume(group: string, topic: string, o: ConsumeOptions): DeliveryStream {
    const consumer = new SimpleConsumer({
      endpoints: this.#o.endpoints,
      namespace: '',
      requestTimeout: this.#o.confirmTimeoutMs,
      logger: clientLogger(this.#o.logger),
      consumerGroup: group,
      subscriptions: new Map([[topic, '*']]),
      awaitDuration: LONG_POLL_MS,
    });
    // started at the first receive, and again at the next one where that failed
    let started: Promise<void> | undefined;
    const start = (): Promise<void> =>
      (started ??= consumer.startup().catch((err: unknown) => {
        started = undefined;
        throw rocketmqError(err, this.#o.name, `consume "${topic}" as "${group}"`);
      }));
    const pop = new SimplePop(
      consumer,
      () => this.#queues.get(topic) ?? 0,
      this.#o.logger.child({ group, topic }),
    );
    const stream: DeliveryStream = new PopStream(
      {
        receive: async (r) => {
          await start();
          if (!this.#queues.has(topic)) await this.#refreshQueues(topic);
          return pop.receive(r);
        },
        ack: (h) => pop.ack(h),
        nack: (h) => pop.nack(h),
        release: (h) => pop.release(h),
      },
      topic,
      o.credit,
      async () => {
        this.#streams.delete(stream);
        pop.close();
        await started?.then(() => consumer.shutdown()).catch(() => undefined);
      },
    );
    this.#streams.add(stream);
    return stream;
  }

  async #queuesOf(topic: string): Promise<number> {
    return this.#queues.get(topic) ?? (await this.#refreshQueues(topic));
  }

  async #refreshQueues(topic: string): Promise<number> {
    const route = await this.#admin.route(topic);
    if (route === undefined)
      throw new MqgateError(
        'MQ_ERR_TOPIC_NOT_FOUND',
        `rocketmq backend "${this.#o.name}": no topic "${topic}"`,
      );
    const n = writeQueues(route);
    this.#queues.set(topic, n);
    return n;
  }
}

function writeQueues(route: TopicRoute): number {
  return route.queues.reduce((n, q) => n + q.writeQueueNums, 0);
}
