/**
 * What the gRPC proxy cannot answer, asked of the brokers over remoting: messages by key or by
 * unique key (the broker's IndexFile, `topic#key`), queue offsets and the offset at a time, a
 * group's offsets and their reset (server side, which POP consumers honour), and reads by offset
 * (PULL_MESSAGE), which is how a group's dead-letter queue `%DLQ%{group}` is browsed.
 */
import { MqgateError } from '../../src/errors.js';
import { type BrokerAdmin, refused } from './broker-admin.js';
import { type BrokerMessage, decodeMessages } from './message-decoder.js';
import { RequestCode, ResponseCode } from './remoting-codes.js';

/** PullSysFlag.FLAG_SUBSCRIPTION: the request carries its own subscription (no consumer registered). */
const PULL_WITH_SUBSCRIPTION = 0x4;
const QUERY_MAX_DEFAULT = 32;

/** Where a reset puts a group: the first message, past the last, or the first stored at or after a time. */
export type ResetTarget = { first: true } | { last: true } | { time: number };

export interface PullResult {
  readonly status: 'FOUND' | 'NO_NEW_MSG' | 'OFFSET_MOVED';
  readonly messages: BrokerMessage[];
  readonly nextOffset: number;
  readonly minOffset: number;
  readonly maxOffset: number;
}

export class BrokerQueries {
  readonly #admin: BrokerAdmin;
  /** The group reads by offset go through; it commits nothing. */
  readonly #readerGroup: string;
  #readerGroupMade: Promise<void> | undefined;

  constructor(admin: BrokerAdmin, o: { readerGroup?: string } = {}) {
    this.#admin = admin;
    this.#readerGroup = o.readerGroup ?? 'mqgate-reader';
  }

  /** Messages of `topic` carrying `key` among their keys, born in [begin, end]. */
  queryByKey(topic: string, key: string, o: { begin?: number; end?: number; max?: number } = {}) {
    return this.#query(topic, key, false, o).then((found) => found.filter((m) => m.keys.includes(key)));
  }

  /** The message of `topic` whose client-given id (UNIQ_KEY) is `msgId`. */
  async byUniqueKey(topic: string, msgId: string): Promise<BrokerMessage | undefined> {
    const found = await this.#query(topic, msgId, true, { max: 1 });
    return found.find((m) => m.msgId === msgId);
  }

  async #query(
    topic: string,
    key: string,
    unique: boolean,
    o: { begin?: number; end?: number; max?: number },
  ): Promise<BrokerMessage[]> {
    const out: BrokerMessage[] = [];
    for (const broker of await this.#masters(topic)) {
      const res = await this.#admin.request(broker, RequestCode.QUERY_MESSAGE, {
        topic,
        key,
        maxNum: o.max ?? QUERY_MAX_DEFAULT,
        beginTimestamp: o.begin ?? 0,
        endTimestamp: o.end ?? Number.MAX_SAFE_INTEGER,
        _UNIQUE_KEY_QUERY: unique,
      });
      if (res.code === ResponseCode.QUERY_NOT_FOUND) continue;
      if (res.code !== ResponseCode.SUCCESS) throw refused(`querying "${topic}" by key`, broker, res);
      out.push(...decodeMessages(res.body));
    }
    return out.sort((a, b) => a.storeTimestamp - b.storeTimestamp).slice(0, o.max ?? QUERY_MAX_DEFAULT);
  }

  /** Each queue's lowest offset still stored and the offset the next message gets. */
  async queueOffsets(topic: string): Promise<{ queueId: number; minOffset: number; maxOffset: number }[]> {
    const out = [];
    for (const { broker, queueId } of await this.#queues(topic)) {
      const min = await this.#offset(broker, RequestCode.GET_MIN_OFFSET, { topic, queueId });
      const max = await this.#offset(broker, RequestCode.GET_MAX_OFFSET, { topic, queueId });
      out.push({ queueId, minOffset: min, maxOffset: max });
    }
    return out;
  }

  /** The offset of the first message stored at or after `time` in a queue (the next one if none). */
  async offsetAt(topic: string, queueId: number, time: number): Promise<number> {
    const broker = await this.#brokerOf(topic, queueId);
    return this.#offset(broker, RequestCode.SEARCH_OFFSET_BY_TIMESTAMP, { topic, queueId, timestamp: time });
  }

  /** The group's committed offset in each queue of `topic` (-1 where it has none). */
  async groupOffsets(group: string, topic: string): Promise<{ queueId: number; offset: number }[]> {
    const out = [];
    for (const { broker, queueId } of await this.#queues(topic)) {
      const res = await this.#admin.request(broker, RequestCode.QUERY_CONSUMER_OFFSET, {
        consumerGroup: group,
        topic,
        queueId,
      });
      if (res.code === ResponseCode.QUERY_NOT_FOUND) out.push({ queueId, offset: -1 });
      else if (res.code !== ResponseCode.SUCCESS) throw refused(`reading offsets of "${group}"`, broker, res);
      else out.push({ queueId, offset: Number(res.fields.offset) });
    }
    return out;
  }

  /** Moves the group's offsets in every queue of `topic` (server side: no consumer must leave). */
  async resetOffsets(group: string, topic: string, to: ResetTarget): Promise<void> {
    // timestamp 0 finds each queue's first message, a negative one its end
    const timestamp = 'first' in to ? 0 : 'last' in to ? -1 : to.time;
    for (const broker of await this.#masters(topic)) {
      const res = await this.#admin.request(broker, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, {
        topic,
        group,
        queueId: -1,
        timestamp,
        isForce: true,
      });
      if (res.code !== ResponseCode.SUCCESS) throw refused(`resetting offsets of "${group}"`, broker, res);
    }
  }

  /** Sets the group's offset in one queue. */
  async commitOffset(group: string, topic: string, queueId: number, offset: number): Promise<void> {
    const broker = await this.#brokerOf(topic, queueId);
    const res = await this.#admin.request(broker, RequestCode.INVOKE_BROKER_TO_RESET_OFFSET, {
      topic,
      group,
      queueId,
      offset,
      timestamp: 0,
      isForce: true,
    });
    if (res.code !== ResponseCode.SUCCESS) throw refused(`committing an offset of "${group}"`, broker, res);
  }

  /** Up to `max` messages of a queue from `offset` on, without committing anything. */
  async pull(topic: string, queueId: number, offset: number, max: number): Promise<PullResult> {
    await (this.#readerGroupMade ??= this.#admin.createGroup(this.#readerGroup).catch((err: unknown) => {
      this.#readerGroupMade = undefined;
      throw err;
    }));
    const broker = await this.#brokerOf(topic, queueId);
    const res = await this.#admin.request(broker, RequestCode.PULL_MESSAGE, {
      consumerGroup: this.#readerGroup,
      topic,
      queueId,
      queueOffset: offset,
      maxMsgNums: max,
      sysFlag: PULL_WITH_SUBSCRIPTION,
      commitOffset: 0,
      suspendTimeoutMillis: 0,
      subscription: '*',
      subVersion: 0,
      expressionType: 'TAG',
    });
    const offsets = {
      nextOffset: Number(res.fields.nextBeginOffset ?? offset),
      minOffset: Number(res.fields.minOffset ?? 0),
      maxOffset: Number(res.fields.maxOffset ?? 0),
    };
    switch (res.code) {
      case ResponseCode.SUCCESS:
        return { status: 'FOUND', messages: decodeMessages(res.body), ...offsets };
      case ResponseCode.PULL_NOT_FOUND:
      case ResponseCode.PULL_RETRY_IMMEDIATELY:
        return { status: 'NO_NEW_MSG', messages: [], ...offsets };
      case ResponseCode.PULL_OFFSET_MOVED:
        return { status: 'OFFSET_MOVED', messages: [], ...offsets };
      default:
        throw refused(`reading "${topic}" queue ${queueId}`, broker, res);
    }
  }

  /** The group's dead letters (`%DLQ%{group}`, one queue), oldest first; none while it has no DLQ. */
  async deadLetters(group: string, o: { offset?: number; max?: number } = {}): Promise<BrokerMessage[]> {
    const dlq = `%DLQ%${group}`;
    if ((await this.#admin.route(dlq)) === undefined) return [];
    const [range] = await this.queueOffsets(dlq);
    const from = Math.max(range?.minOffset ?? 0, o.offset ?? 0);
    const r = await this.pull(dlq, 0, from, o.max ?? QUERY_MAX_DEFAULT);
    return r.messages;
  }

  async #offset(broker: string, code: number, fields: Record<string, string | number>): Promise<number> {
    const res = await this.#admin.request(broker, code, fields);
    if (res.code !== ResponseCode.SUCCESS)
      throw refused(`reading an offset of "${fields.topic}"`, broker, res);
    return Number(res.fields.offset);
  }

  /** Master brokers that hold queues of the topic. */
  async #masters(topic: string): Promise<string[]> {
    const route = await this.#admin.route(topic);
    if (route === undefined) throw new MqgateError('MQ_ERR_TOPIC_NOT_FOUND', `rocketmq: no topic "${topic}"`);
    return [...route.masters.values()];
  }

  /**
   * The topic's queues with the broker of each. Each broker numbers its queues from 0: with a
   * topic on several brokers the ids repeat and the first broker by name answers for an id (a
   * topic mqgate creates spans every master: one master is what this path is tested with).
   */
  async #queues(topic: string): Promise<{ broker: string; queueId: number }[]> {
    const route = await this.#admin.route(topic);
    if (route === undefined) throw new MqgateError('MQ_ERR_TOPIC_NOT_FOUND', `rocketmq: no topic "${topic}"`);
    const out = [];
    for (const q of [...route.queues].sort((a, b) => a.brokerName.localeCompare(b.brokerName))) {
      const broker = route.masters.get(q.brokerName);
      if (broker === undefined) continue;
      for (let i = 0; i < q.readQueueNums; i++) out.push({ broker, queueId: i });
    }
    return out;
  }

  async #brokerOf(topic: string, queueId: number): Promise<string> {
    const queues = await this.#queues(topic);
    const q = queues.find((x) => x.queueId === queueId);
    if (q === undefined)
      throw new MqgateError('MQ_ERR_QUEUE_INVALID', `rocketmq: topic "${topic}" has no queue ${queueId}`);
    return q.broker;
  }
}
