/**
 * bench/backends' own connection to RabbitMQ: declares the quorum queues a figure counts in,
 * counts what arrived, and deletes every queue and exchange of the run at its end.
 */
import { performance } from 'node:perf_hooks';
import type { Channel, ChannelModel } from 'amqplib';
import { connect } from 'amqplib';
import { TOPICS_EXCHANGE, dlqQueue, shardQueue } from '../adapters/rabbitmq/topology.js';
import type { BackendProbe, Counter } from './backends-common.js';
import { runId, settings, sleep } from './backends-common.js';

/** Says on stderr when RabbitMQ blocks a connection (a resource alarm) or it fails. */
export function watchConnection(name: string, model: ChannelModel): void {
  model.on('error', (err: Error) => console.error(`${name}: ${err.message}`));
  model.on('blocked', (why: string) => console.error(`${name}: RabbitMQ blocks publishing (${why})`));
  model.on('unblocked', () => console.error(`${name}: RabbitMQ takes publishes again`));
}

/**
 * The run's own view of RabbitMQ: declares the quorum queues a figure counts in, counts what
 * arrived, and deletes at the end every queue and exchange of the run (the gateway's group
 * queues too, once the gateway is gone).
 */
export class RabbitBench implements BackendProbe {
  readonly backend = 'rabbitmq';
  readonly model: ChannelModel;
  #ch: Channel | undefined;
  readonly #queues = new Set<string>();
  readonly #exchanges = new Set<string>();

  private constructor(model: ChannelModel) {
    this.model = model;
    watchConnection('bench', model);
  }

  static async open(url: string): Promise<RabbitBench> {
    try {
      return new RabbitBench(await connect(url));
    } catch (e) {
      throw new Error(
        `RabbitMQ at ${url} does not answer (${String(e)}): start it with scripts/brokers/up.sh rabbitmq or set RABBITMQ_URL`,
      );
    }
  }

  /** A channel for declarations; a fresh one after an error closed the last. */
  async #channel(): Promise<Channel> {
    if (this.#ch !== undefined) return this.#ch;
    const ch = await this.model.createChannel();
    ch.on('error', () => {});
    ch.on('close', () => {
      if (this.#ch === ch) this.#ch = undefined;
    });
    return (this.#ch = ch);
  }

  async exchange(name: string): Promise<void> {
    await (await this.#channel()).assertExchange(name, 'topic', { durable: true });
    this.#exchanges.add(name);
  }

  /** `{prefix}.q{i}` for each queue index: quorum, durable, bound to `exchange` by `pattern(i)`. */
  async quorumQueues(prefix: string, exchange: string, pattern: (i: number) => string): Promise<string[]> {
    const ch = await this.#channel();
    const names: string[] = [];
    for (let i = 0; i < settings.queues; i++) {
      const name = `${prefix}.q${i}`;
      await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      this.#queues.add(name);
      await ch.bindQueue(name, exchange, pattern(i));
      names.push(name);
    }
    return names;
  }

  /**
   * Sends to the gateway's topic are counted in quorum queues bound to mqgate's exchange exactly
   * as a group's queues are bound (no consumer on them, so RabbitMQ's count is exact).
   */
  async counting(topic: string): Promise<Counter> {
    const queues = await this.quorumQueues(
      `bench.${runId}.${topic}`,
      TOPICS_EXCHANGE,
      (i) => `${topic}.${i}.#`,
    );
    return { until: (n) => this.countUntil(queues, n), drop: () => this.drop(queues) };
  }

  /** The gateway's group queues (its DLQ; its queues of a topic): deleted once the gateway is gone. */
  groupMade(group: string, topic?: string): void {
    if (topic === undefined) this.adopt([dlqQueue(group)]);
    else this.adopt(Array.from({ length: settings.queues }, (_, i) => shardQueue(topic, group, i)));
  }

  /** Queues someone else made for this run: deleted at the end too. */
  adopt(names: readonly string[]): void {
    for (const n of names) this.#queues.add(n);
  }

  /** Messages ready in the queues (none may have a consumer). */
  async count(names: readonly string[]): Promise<number> {
    const ch = await this.#channel();
    let n = 0;
    for (const q of names) n += (await ch.checkQueue(q)).messageCount;
    return n;
  }

  /** The count once it reached `atLeast`, or whatever it is after `ms` (a quorum queue counts a confirmed message soon after). */
  async countUntil(names: readonly string[], atLeast: number, ms = 3000): Promise<number> {
    const deadline = performance.now() + ms;
    for (;;) {
      const n = await this.count(names);
      if (n >= atLeast || performance.now() > deadline) return n;
      await sleep(50);
    }
  }

  async drop(names: readonly string[]): Promise<void> {
    const ch = await this.#channel();
    for (const q of names) {
      await ch.deleteQueue(q);
      this.#queues.delete(q);
    }
  }

  /** Deletes what the run made; what cannot be deleted now (the broker went away) is named. */
  async close(): Promise<void> {
    try {
      await this.drop([...this.#queues]);
      const ch = await this.#channel();
      for (const x of this.#exchanges) await ch.deleteExchange(x);
      this.#exchanges.clear();
    } catch (e) {
      console.error(`could not delete ${[...this.#queues, ...this.#exchanges].join(', ')}: ${String(e)}`);
    } finally {
      await this.model.close().catch(() => {});
    }
  }
}
