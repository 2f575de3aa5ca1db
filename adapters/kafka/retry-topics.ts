/**
 * A group's retries and dead letters on Kafka, RocketMQ's `%RETRY%` and `%DLQ%` as topics of
 * their own (the Spring Kafka pattern):
 *
 * ```
 *   mqgate.retry.{group}.{topic}   one partition per delay level: a failed message's copy goes
 *                                  to its back-off's partition with the time it is due; the
 *                                  group's consumer of the topic reads it beside the topic and
 *                                  holds each partition's head until it is due (group-consumer.ts)
 *   mqgate.dlq.{group}             one partition: messages past maxReconsumeTimes; browse, resend
 * ```
 * Copies carry RocketMQ's retry and DLQ properties (RETRY_TOPIC, ORIGIN_MESSAGE_ID,
 * RECONSUME_TIME; DLQ_ORIGIN_TOPIC, DLQ_ORIGIN_MESSAGE_ID), their origin's queue index and their
 * reconsume times. How names become Kafka topic names: names.ts.
 */
import type { SendResult } from '../../src/broker/index.js';
import {
  SendStatus,
  deadLetterMessage,
  dlqTopic,
  resentMessage,
  retryMessage,
} from '../../src/broker/index.js';
import { MqgateError } from '../../src/errors.js';
import type { MessageInput, StoredMessage } from '../../src/message/message.js';
import type { AdminClient } from './admin-client.js';
import { encode } from './codec.js';
import { kafkaError } from './kafka-errors.js';
import { dlqTopicOf, retryTopicOf } from './names.js';
import type { ProduceBatcher } from './produce-batcher.js';
import type { Readers } from './readers.js';
import type { TopicAdmin } from './topic-admin.js';

/** Dead letters read in one look at most. */
const MAX_LOOK = 10_000;

export interface RetryTopicsOptions {
  readonly readers: Readers;
  readonly backend: string;
  readonly admin: AdminClient;
  readonly topics: TopicAdmin;
  readonly batcher: ProduceBatcher;
  /** The gateway's delay levels in ms (level n at index n - 1). */
  readonly levelsMs: readonly number[];
}

export class RetryTopics {
  readonly #o: RetryTopicsOptions;

  constructor(o: RetryTopicsOptions) {
    this.#o = o;
  }

  /** Makes the group's retry topic of `topic` and its DLQ topic; answers the retry topic. */
  async ensure(group: string, topic: string): Promise<string> {
    const retry = retryTopicOf(group, topic);
    await this.#o.topics.ensure(retry, this.#o.levelsMs.length);
    await this.#o.topics.ensure(dlqTopicOf(group), 1);
    return retry;
  }

  /** Writes a failed message's retry copy (due after its delay level) or its dead letter. */
  async write(
    group: string,
    m: StoredMessage,
    o: { delayLevel?: number; deadLetter?: boolean },
  ): Promise<void> {
    if (o.deadLetter === true) {
      const copy = deadLetterMessage(group, m);
      await this.#o.batcher.send(dlqTopicOf(group), [
        encode(outbound(m, copy), { partition: 0, queueId: m.queueId, reconsumeTimes: m.reconsumeTimes }),
      ]);
      return;
    }
    const levels = this.#o.levelsMs;
    const level = Math.min(Math.max(1, o.delayLevel ?? 1), levels.length);
    const copy = retryMessage(group, m);
    await this.#o.batcher.send(retryTopicOf(group, m.topic), [
      encode(outbound(m, copy), {
        partition: level - 1,
        queueId: m.queueId,
        reconsumeTimes: m.reconsumeTimes + 1,
        due: Date.now() + (levels[level - 1] as number),
      }),
    ]);
  }

  /** The group's dead letters from the `offset`-th on. */
  async list(group: string, o: { offset?: number; max?: number }): Promise<StoredMessage[]> {
    return this.#look(group, o.offset ?? 0, Math.min(MAX_LOOK, o.max ?? 32));
  }

  /** Sends a dead letter to its topic again (every group gets it); it stays in the DLQ. */
  async resend(group: string, msgId: string): Promise<SendResult> {
    const m = (await this.#look(group, 0, MAX_LOOK)).find((x) => x.msgId === msgId);
    if (m === undefined) throw new MqgateError('MQ_ERR_MSG_NOT_FOUND', `${msgId} in the DLQ of "${group}"`);
    const again = resentMessage(m, m.queueId);
    const t = await this.#o.topics.get(again.topic);
    if (m.queueId >= t.queues)
      throw new MqgateError(
        'MQ_ERR_QUEUE_INVALID',
        `topic "${again.topic}" has ${t.queues} queues, not ${m.queueId}`,
      );
    const [queueOffset] = await this.#o.batcher.send(again.topic, [encode(outbound(m, again))]);
    return {
      status: SendStatus.SEND_OK,
      msgId,
      topic: again.topic,
      queueId: m.queueId,
      queueOffset: queueOffset ?? -1,
    };
  }

  async #look(group: string, from: number, max: number): Promise<StoredMessage[]> {
    const dlq = dlqTopicOf(group);
    try {
      const [bounds] = await this.#o.admin.run(async (a) =>
        (await a.listTopics()).includes(dlq) ? a.fetchTopicOffsets(dlq) : [],
      );
      if (bounds === undefined) return [];
      const got = await this.#o.readers.read(dlq, 0, Number(bounds.low) + from, max, Number(bounds.high));
      // shown as the embedded log shows a DLQ: in the group's %DLQ% topic
      return got.map((x) => ({ ...x, topic: dlqTopic(group) }));
    } catch (err) {
      throw kafkaError(err, this.#o.backend, `read the DLQ of "${group}"`);
    }
  }
}

/** A stored message as a send of its copy (`copy` gives the properties, the rest stays). */
function outbound(m: StoredMessage, copy: MessageInput) {
  return {
    queueId: m.queueId,
    msgId: m.msgId,
    bornTimestamp: m.bornTimestamp,
    body: m.body,
    tag: m.tag,
    keys: m.keys,
    properties: copy.properties ?? {},
  };
}
