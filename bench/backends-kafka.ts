/**
 * bench/backends on Kafka, the run's own kafkajs client (the only bench file that imports it).
 *
 * KafkaBench is the gateway side's probe: it counts what arrived in a topic (the sum of its
 * partitions' high watermarks; a new topic starts at 0) and deletes every topic and group of
 * the run at its end (by the run id in their names: the gateway's retry and DLQ topics too).
 * Nothing is deleted before: kafkajs asks for the metadata of every topic a client ever used, and
 * a deleted one fails those requests for all.
 *
 * KafkaDirect is the baseline, kafkajs used directly in the bench process on topics of
 * BENCH_QUEUES partitions, messages spread round robin over them as mqgate spreads them over
 * its queues. Sends go through one idempotent producer with acks -1, as mqgate's: kafkajs sends
 * each send() as a produce request of its own, one at a time per broker for an idempotent
 * producer (its sequence numbers), and batches nothing by itself. Consumption is a consumer
 * group with eachMessage and kafkajs's commits after each batch.
 */
import { performance } from 'node:perf_hooks';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import type { Admin, Consumer, Message, Producer } from 'kafkajs';
import type { BackendProbe, Counter, Latency, Side, Starter } from './backends-common.js';
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

const timing = () => ({ warmupMs: settings.warmupSeconds * 1000, measureMs: settings.seconds * 1000 });
const ofRun = (name: string): boolean => name.includes(runId);

export class KafkaBench implements BackendProbe {
  readonly backend = 'kafka';
  readonly kafka: Kafka;
  readonly #admin: Admin;

  private constructor(kafka: Kafka, admin: Admin) {
    this.kafka = kafka;
    this.#admin = admin;
  }

  static async open(brokers: string[]): Promise<KafkaBench> {
    const kafka = new Kafka({ clientId: `bench-${runId}`, brokers, logLevel: logLevel.WARN });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.describeCluster();
    } catch (e) {
      await admin.disconnect().catch(() => {});
      throw new Error(
        `Kafka at ${brokers.join(',')} does not answer (${String(e)}): start it with scripts/brokers/up.sh kafka or set KAFKA_BROKERS`,
      );
    }
    return new KafkaBench(kafka, admin);
  }

  /** A new topic of BENCH_QUEUES partitions, once its partitions have leaders. */
  async topic(name: string): Promise<string> {
    await this.#admin.createTopics({
      topics: [{ topic: name, numPartitions: settings.queues }],
      waitForLeaders: true,
    });
    return name;
  }

  /** Records in the topic (its partitions' high watermarks). */
  async count(topic: string): Promise<number> {
    const offsets = await this.#admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high), 0);
  }

  /** The count once it reached `atLeast`, or whatever it is after `ms`. */
  async countUntil(topic: string, atLeast: number, ms = 3000): Promise<number> {
    const deadline = performance.now() + ms;
    for (;;) {
      const n = await this.count(topic);
      if (n >= atLeast || performance.now() > deadline) return n;
      await sleep(50);
    }
  }

  /** The gateway's topic is the Kafka topic: its offsets count (it goes at the end of the run). */
  async counting(topic: string): Promise<Counter> {
    return { until: (n) => this.countUntil(topic, n), drop: async () => {} };
  }

  /** Nothing to note: the group's Kafka groups and topics carry the run id. */
  groupMade(): void {}

  /** Deletes the run's topics and groups (the gateway and the consumers must be gone). */
  async close(): Promise<void> {
    await this.#admin.disconnect().catch(() => {});
    // a fresh client: the old one would ask for the metadata of topics being deleted
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      const topics = (await admin.listTopics()).filter(ofRun);
      if (topics.length > 0) await admin.deleteTopics({ topics });
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter(ofRun);
      if (groups.length > 0) await admin.deleteGroups(groups);
    } catch (e) {
      console.error(
        `could not delete the Kafka topics and groups with ${runId} in their names: ${String(e)}`,
      );
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }
}

export class KafkaDirect implements Side {
  readonly #bench: KafkaBench;
  readonly #producer: Producer;
  readonly #body = Buffer.from(BODY);
  #next = 0;

  private constructor(bench: KafkaBench, producer: Producer) {
    this.#bench = bench;
    this.#producer = producer;
  }

  static async open(bench: KafkaBench): Promise<KafkaDirect> {
    const producer = bench.kafka.producer({
      idempotent: true,
      allowAutoTopicCreation: false,
      // every record names its partition; this only quiets kafkajs's warning about defaults
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await producer.connect();
    return new KafkaDirect(bench, producer);
  }

  #records(n: number, value: () => Buffer): Message[] {
    return Array.from({ length: n }, () => ({ partition: this.#next++ % settings.queues, value: value() }));
  }

  /** Sends of `size` messages each (one send() each), `limit` messages in all (unbounded by default). */
  #units(topic: string, size: number, limit = Infinity): Starter {
    let started = 0;
    return (done) => {
      const n = Math.min(size, limit - started);
      if (n <= 0) return false;
      started += n;
      this.#producer.send({ topic, acks: -1, messages: this.#records(n, () => this.#body) }).then(
        () => done(n, true),
        (e: unknown) => {
          console.error(`kafkajs send: ${String(e)}`);
          done(n, false);
        },
      );
      return true;
    };
  }

  /** `window` sends of `size` messages in flight for the measured time: confirmed msgs/s. */
  async #publishing(what: string, name: string, size: number, window: number): Promise<number> {
    const topic = await this.#bench.topic(`bench.${runId}.${name}`);
    const f = await keepInFlight(window, this.#units(topic, size), timing());
    if (f.failed > 0) throw new Error(`${what}: ${f.failed} messages not confirmed`);
    checkArrived(what, await this.#bench.countUntil(topic, f.confirmed), f.confirmed);
    return f.rate;
  }

  /** One message a send(), CONNECTIONS of them in flight (as many as mqgate gets REST connections). */
  sends(name: string): Promise<number> {
    return this.#publishing('kafkajs single sends', name, 1, settings.connections);
  }

  /** BATCH messages a send(), BATCH_WINDOW of them in flight. */
  batches(name: string): Promise<number> {
    return this.#publishing('kafkajs batches', name, settings.batch, settings.batchWindow);
  }

  /** A consumer of the run's group `bench-{run}-{name}` reading `topic` from its start. */
  async #consumer(name: string, topic: string, onValue: (value: Buffer | null) => void): Promise<Consumer> {
    const consumer = this.#bench.kafka.consumer({
      groupId: `bench-${runId}-${name}`,
      allowAutoTopicCreation: false,
    });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => onValue(message.value) });
    await joined;
    return consumer;
  }

  /** `expected` messages put in first, then consumed: msgs/s from the consumer's start to the last one. */
  async consume(name: string, expected: number): Promise<number> {
    const topic = await this.#bench.topic(`bench.${runId}.${name}`);
    const fill = await keepInFlight(settings.batchWindow, this.#units(topic, settings.batch, expected));
    if (fill.failed > 0) throw new Error(`kafkajs consume: ${fill.failed} of the backlog not confirmed`);
    checkArrived('kafkajs consume backlog', await this.#bench.countUntil(topic, expected), expected);
    let n = 0;
    let last = 0;
    const t0 = performance.now();
    const consumer = await this.#consumer(name, topic, () => {
      if (++n === expected) last = performance.now();
    });
    await until(
      'kafkajs consume',
      () => n >= expected,
      () => n,
    );
    await sleep(300); // a duplicate would show now
    checkArrived('kafkajs consume', n, expected);
    await consumer.disconnect();
    return expected / ((last - t0) / 1000);
  }

  /**
   * Publish -> deliver at RATE msgs/s, open loop, the time of sending in the body. One send() a
   * message from a producer that is not idempotent, so the requests go out side by side (the
   * idempotent one's requests wait for each other).
   */
  async latency(name: string): Promise<Latency> {
    const topic = await this.#bench.topic(`bench.${runId}.${name}`);
    const rec = new LatencyRecorder();
    const consumer = await this.#consumer(name, topic, (v) =>
      rec.record(parseFloat(v?.toString('latin1', 0, 24) ?? '')),
    );
    const producer = this.#bench.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const total = Math.round(settings.rate * (settings.rateWarmupSeconds + settings.rateSeconds));
    let settled = 0;
    let failed = 0;
    rec.from = performance.now() + settings.rateWarmupSeconds * 1000;
    await paced(settings.rate, total, () => {
      const messages = this.#records(1, () => Buffer.from(timedBody(performance.now())));
      producer.send({ topic, acks: -1, messages }).then(
        () => settled++,
        () => [settled++, failed++],
      );
    });
    await until(
      'kafkajs latency',
      () => rec.received >= total && settled >= total,
      () => rec.received + settled,
    );
    await sleep(200);
    await producer.disconnect();
    await consumer.disconnect();
    if (failed > 0) throw new Error(`kafkajs latency: ${failed} sends not confirmed`);
    checkArrived('kafkajs latency', rec.received, total);
    return rec.summary();
  }

  async close(): Promise<void> {
    await this.#producer.disconnect().catch(() => {});
  }
}
