/**
 * bench/backends' RabbitMQ baseline: amqplib used directly, in the bench process, against the same
 * RabbitMQ and with the same queues as mqgate declares for a group: quorum and durable, one per
 * queue index, bound to a topic exchange by `{name}.{i}.#`, messages routed round robin over
 * them by key `{name}.{i}.TagA`. Persistent messages, publisher confirms on one confirm channel
 * (mandatory, as mqgate publishes), a consumer channel of its own connection with manual acks
 * and the prefetch split over the queues as mqgate splits its credit (quorum queues have no
 * channel-wide prefetch).
 */
import { performance } from 'node:perf_hooks';
import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { connect } from 'amqplib';
import type { Latency, Side, Starter } from './backends-common.js';
import {
  BODY,
  LatencyRecorder,
  checkArrived,
  keepInFlight,
  paced,
  runId,
  settings,
  sleep,
  timedBody,
  until,
} from './backends-common.js';
import type { RabbitBench } from './backends-rabbit.js';
import { watchConnection } from './backends-rabbit.js';

const timing = () => ({ warmupMs: settings.warmupSeconds * 1000, measureMs: settings.seconds * 1000 });

export class DirectSide implements Side {
  readonly #rabbit: RabbitBench;
  readonly #exchange: string;
  readonly #pub: ChannelModel;
  readonly #ch: ConfirmChannel;
  readonly #sub: ChannelModel;
  readonly #body = Buffer.from(BODY);
  #next = 0;

  private constructor(
    rabbit: RabbitBench,
    exchange: string,
    pub: ChannelModel,
    ch: ConfirmChannel,
    sub: ChannelModel,
  ) {
    this.#rabbit = rabbit;
    this.#exchange = exchange;
    this.#pub = pub;
    this.#ch = ch;
    this.#sub = sub;
  }

  static async open(rabbit: RabbitBench): Promise<DirectSide> {
    const exchange = `bench.${runId}`;
    await rabbit.exchange(exchange);
    const pub = await connect(settings.url);
    const ch = await pub.createConfirmChannel();
    const sub = await connect(settings.url);
    // a lost connection fails the publishes under way (their confirms) and ends the run there
    watchConnection('direct publisher', pub);
    watchConnection('direct consumer', sub);
    ch.on('error', (err: Error) => console.error(`direct publisher: ${err.message}`));
    return new DirectSide(rabbit, exchange, pub, ch, sub);
  }

  #queues(name: string): Promise<string[]> {
    return this.#rabbit.quorumQueues(`bench.${runId}.${name}`, this.#exchange, (i) => `${name}.${i}.#`);
  }

  #publish(name: string, body: Buffer, confirmed: (err: unknown) => void): void {
    const key = `${name}.${this.#next++ % settings.queues}.TagA`;
    try {
      this.#ch.publish(this.#exchange, key, body, { persistent: true, mandatory: true }, confirmed);
    } catch (e) {
      setImmediate(() => confirmed(e)); // the channel is closed
    }
  }

  /** Publishes of `size` messages each, `limit` messages in all (unbounded by default). */
  #units(name: string, size: number, limit = Infinity): Starter {
    let started = 0;
    return (done) => {
      const n = Math.min(size, limit - started);
      if (n <= 0) return false;
      started += n;
      let left = n;
      let ok = true;
      const confirmed = (err: unknown): void => {
        if (err !== null && err !== undefined) ok = false;
        if (--left === 0) done(n, ok);
      };
      for (let k = 0; k < n; k++) this.#publish(name, this.#body, confirmed);
      return true;
    };
  }

  /** `window` publishes of `size` messages in flight for the measured time: confirmed msgs/s. */
  async #publishing(what: string, name: string, size: number, window: number): Promise<number> {
    const queues = await this.#queues(name);
    const f = await keepInFlight(window, this.#units(name, size), timing());
    if (f.failed > 0) throw new Error(`${what}: ${f.failed} publishes not confirmed`);
    checkArrived(what, await this.#rabbit.countUntil(queues, f.confirmed), f.confirmed);
    await this.#rabbit.drop(queues);
    return f.rate;
  }

  /** Single publishes, CONNECTIONS of them in flight (as many as mqgate gets REST connections). */
  sends(name: string): Promise<number> {
    return this.#publishing('direct single sends', name, 1, settings.connections);
  }

  /** Batches of BATCH publishes, each done once all its confirms came, BATCH_WINDOW in flight. */
  batches(name: string): Promise<number> {
    return this.#publishing('direct batches', name, settings.batch, settings.batchWindow);
  }

  /** A consumer channel on the queues, prefetch split over them, acking each delivery. */
  async #consumer(queues: readonly string[], onMessage: (m: ConsumeMessage, ack: () => void) => void) {
    const ch = await this.#sub.createChannel();
    ch.on('error', (err: Error) => console.error(`direct consumer: ${err.message}`));
    await ch.prefetch(Math.max(1, Math.ceil(settings.credit / queues.length)), false);
    for (const q of queues)
      await ch.consume(q, (m) => {
        if (m !== null) onMessage(m, () => ch.ack(m));
      });
    return ch;
  }

  /** `expected` messages put in first, then consumed: msgs/s from the consume to the last delivery. */
  async consume(name: string, expected: number): Promise<number> {
    const queues = await this.#queues(name);
    const fill = await keepInFlight(settings.batchWindow, this.#units(name, settings.batch, expected));
    if (fill.failed > 0) throw new Error(`direct consume: ${fill.failed} of the backlog not confirmed`);
    checkArrived('direct consume backlog', await this.#rabbit.countUntil(queues, expected), expected);
    let n = 0;
    let last = 0;
    const t0 = performance.now();
    const ch = await this.#consumer(queues, (_m, ack) => {
      ack();
      if (++n === expected) last = performance.now();
    });
    await until(
      'direct consume',
      () => n >= expected,
      () => n,
    );
    await sleep(300); // a duplicate would show now
    checkArrived('direct consume', n, expected);
    await ch.close();
    await this.#rabbit.drop(queues);
    return expected / ((last - t0) / 1000);
  }

  /** Publish -> deliver at RATE msgs/s, open loop, the time of sending in the body. */
  async latency(name: string): Promise<Latency> {
    const queues = await this.#queues(name);
    const rec = new LatencyRecorder();
    const ch = await this.#consumer(queues, (m, ack) => {
      rec.record(parseFloat(m.content.toString('latin1', 0, 24)));
      ack();
    });
    const total = Math.round(settings.rate * (settings.rateWarmupSeconds + settings.rateSeconds));
    let settled = 0;
    let failed = 0;
    const confirmed = (err: unknown): void => {
      settled++;
      if (err !== null && err !== undefined) failed++;
    };
    rec.from = performance.now() + settings.rateWarmupSeconds * 1000;
    await paced(settings.rate, total, () =>
      this.#publish(name, Buffer.from(timedBody(performance.now())), confirmed),
    );
    await until(
      'direct latency',
      () => rec.received >= total && settled >= total,
      () => rec.received + settled,
    );
    await sleep(200);
    if (failed > 0) throw new Error(`direct latency: ${failed} publishes not confirmed`);
    checkArrived('direct latency', rec.received, total);
    await ch.close();
    await this.#rabbit.drop(queues);
    return rec.summary();
  }

  async close(): Promise<void> {
    await this.#pub.close().catch(() => {});
    await this.#sub.close().catch(() => {});
  }
}
