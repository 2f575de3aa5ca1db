/**
 * mqgate's topics as Kafka topics, through the admin API: created with one partition per queue
 * and a `max.message.bytes` that takes the gateway's largest message; grown with more partitions
 * (queues never shrink); looked up when this gateway meets a topic it did not make (after a
 * restart, or one made outside mqgate); deleted. Each topic's partition count and record limit
 * are kept here for the sends.
 */
import { MqgateError } from '../../src/errors.js';
import type { AdminClient } from './admin-client.js';
import { checkTopicName, kafkaError } from './kafka-errors.js';

export interface TopicInfo {
  readonly queues: number;
  /** The largest record the topic takes (its `max.message.bytes`). */
  readonly maxBytes: number;
}

/** How long a new topic's partitions may take to answer. */
const LEADERS_WAIT_MS = 15_000;

export class TopicAdmin {
  readonly #admin: AdminClient;
  readonly #backend: string;
  /** `max.message.bytes` of the topics mqgate creates. */
  readonly #maxBytes: number;
  readonly #topics = new Map<string, TopicInfo>();

  constructor(o: { admin: AdminClient; backend: string; maxBytes: number }) {
    this.#admin = o.admin;
    this.#backend = o.backend;
    this.#maxBytes = o.maxBytes;
  }

  /** Creates the topic with `queues` partitions, or adds partitions up to it; true when it grew. */
  async ensure(topic: string, queues: number): Promise<boolean> {
    checkTopicName(topic);
    if ((this.#topics.get(topic)?.queues ?? 0) >= queues) return false;
    try {
      const exists = await this.#admin.run(async (a) => (await a.listTopics()).includes(topic));
      if (!exists)
        await this.#admin.run((a) =>
          a.createTopics({
            topics: [
              {
                topic,
                numPartitions: queues,
                configEntries: [
                  { name: 'max.message.bytes', value: String(this.#maxBytes) },
                  // the record timestamp is the born time (codec.ts), whatever the broker's default
                  { name: 'message.timestamp.type', value: 'CreateTime' },
                ],
              },
            ],
            // the leaders are awaited below (kafkajs gives up after its few retries)
            waitForLeaders: false,
          }),
        );
      // also for a topic made elsewhere a moment ago: its partitions may not answer yet
      const have = await this.#ready(topic, () =>
        this.#admin.run((a) => a.fetchTopicMetadata({ topics: [topic] })),
      );
      const partitions = have.topics[0]?.partitions.length ?? 0;
      if (partitions < queues) {
        await this.#admin.run((a) => a.createPartitions({ topicPartitions: [{ topic, count: queues }] }));
        await this.#ready(topic, () => this.#admin.run((a) => a.fetchTopicOffsets(topic)));
      }
      this.#topics.set(topic, { queues: Math.max(partitions, queues), maxBytes: await this.#limit(topic) });
      return exists && partitions < queues;
    } catch (err) {
      throw kafkaError(err, this.#backend, `create topic "${topic}"`);
    }
  }

  /**
   * Asks until the topic answers, then until every partition answers for its offsets: right
   * after a create (longer right after a broker restart) a broker may still say
   * UNKNOWN_TOPIC_OR_PARTITION, or NOT_LEADER_OR_FOLLOWER while a leader's log is loaded.
   */
  async #ready<T>(topic: string, ask: () => Promise<T>): Promise<T> {
    const until = Date.now() + LEADERS_WAIT_MS;
    for (;;)
      try {
        const answer = await ask();
        await this.#admin.run((a) => a.fetchTopicOffsets(topic));
        return answer;
      } catch (err) {
        if (Date.now() > until) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
  }

  /** The topic's `max.message.bytes` (it may have been made elsewhere with less). */
  async #limit(topic: string): Promise<number> {
    const r = await this.#admin.run((a) =>
      a.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 2 /* TOPIC */, name: topic, configNames: ['max.message.bytes'] }],
      }),
    );
    const v = Number(r.resources[0]?.configEntries[0]?.configValue);
    return Number.isFinite(v) && v > 0 ? v : 1024 * 1024;
  }

  /** A topic's partitions and record limit, from Kafka when this gateway has not met it yet. */
  async get(topic: string): Promise<TopicInfo> {
    const known = this.#topics.get(topic);
    if (known !== undefined) return known;
    try {
      const info = await this.#admin.run(async (a) => {
        if (!(await a.listTopics()).includes(topic))
          throw new MqgateError(
            'MQ_ERR_TOPIC_NOT_FOUND',
            `"${topic}" is not on kafka backend "${this.#backend}"`,
          );
        const meta = await a.fetchTopicMetadata({ topics: [topic] });
        return { queues: meta.topics[0]?.partitions.length ?? 0, maxBytes: await this.#limit(topic) };
      });
      this.#topics.set(topic, info);
      return info;
    } catch (err) {
      throw kafkaError(err, this.#backend, `look up topic "${topic}"`);
    }
  }

  async delete(topic: string): Promise<void> {
    try {
      await this.#admin.run(async (a) => {
        if ((await a.listTopics()).includes(topic)) await a.deleteTopics({ topics: [topic] });
      });
    } catch (err) {
      throw kafkaError(err, this.#backend, `delete topic "${topic}"`);
    }
    this.#topics.delete(topic);
  }
}
