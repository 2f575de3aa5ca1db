import { MqgateError } from '../errors.js';
import type { MessageStore } from '../store/index.js';
import type { DelayLevels } from './delay-levels.js';
import type { ResolvedBrokerOptions } from './options.js';
import { RoundRobin, shardingQueue } from './queue-selector.js';
import { delayedRecord, timerRecord } from './schedule/schedule-props.js';
import type { SendInput, SendResult } from './send.js';
import { toSendResult, toStoreInput } from './send.js';
import type { TopicConfig, TopicRegistry } from './topic-registry.js';
import { bodySizeWithin } from '../message/bytes.js';

/**
 * The send path of the broker core: checks a message, picks its queue (explicit id, sharding
 * key, or round-robin) and writes it — straight to its topic, or to the scheduler when it has
 * a delay level or a future delivery time.
 */
export class Producer {
  readonly #store: MessageStore;
  readonly #topics: TopicRegistry;
  readonly #levels: DelayLevels;
  readonly #options: ResolvedBrokerOptions;
  readonly #rr = new RoundRobin();

  constructor(
    store: MessageStore,
    topics: TopicRegistry,
    levels: DelayLevels,
    options: ResolvedBrokerOptions,
  ) {
    this.#store = store;
    this.#topics = topics;
    this.#levels = levels;
    this.#options = options;
  }

  async send(t: TopicConfig, m: SendInput): Promise<SendResult> {
    if (t.perm === 'R') throw new MqgateError('MQ_ERR_TOPIC_PERMISSION', `topic "${t.name}" is read-only`);
    const max = this.#store.options.maxMessageSize;
    const body = bodySizeWithin(m.body, max);
    if (body > max)
      throw new MqgateError(
        'MQ_ERR_MESSAGE_TOO_LARGE',
        `the body has ${body} bytes, at most ${max} are allowed`,
        {
          details: { size: body, maxMessageSize: max },
        },
      );
    const queueId = this.queueFor(t, m);
    const input = toStoreInput(t.name, queueId, m);
    const level = m.delayLevel === undefined ? undefined : this.#delayLevel(m.delayLevel);
    const deliverAt =
      level === undefined && m.deliverAt !== undefined ? this.#deliverAt(m.deliverAt) : undefined;
    if (level !== undefined || (deliverAt !== undefined && deliverAt > Date.now())) {
      const record =
        level === undefined ? timerRecord(input, deliverAt as number) : delayedRecord(input, level);
      this.#topics.system(record.topic);
      const r = toSendResult(t.name, await this.#store.putMessage(record));
      const due = level === undefined ? (deliverAt as number) : Date.now() + this.#levels.delayOf(level);
      return { ...r, queueId, queueOffset: -1, deliverAt: due };
    }
    return toSendResult(t.name, await this.#store.putMessage(input));
  }

  /** The queue of a message: its `queueId`, else its sharding key's, else the next round-robin. */
  queueFor(t: TopicConfig, m: Pick<SendInput, 'queueId' | 'shardingKey'>): number {
    if (m.queueId !== undefined) {
      if (!Number.isInteger(m.queueId) || m.queueId < 0 || m.queueId >= t.queues)
        throw new MqgateError(
          'MQ_ERR_QUEUE_INVALID',
          `topic "${t.name}" has queues 0..${t.queues - 1}, not ${m.queueId}`,
        );
      return m.queueId;
    }
    if (m.shardingKey !== undefined)
      return shardingQueue(m.shardingKey, t.queues, this.#options.shardingHash);
    return this.#rr.pick(t.name, t.queues);
  }

  /** Levels above the last are the last (RocketMQ clamps); below 1 is an error. */
  #delayLevel(level: number): number {
    if (!Number.isInteger(level) || level < 1)
      throw new MqgateError(
        'MQ_ERR_DELAY_LEVEL_INVALID',
        `${level} is not a level: use 1..${this.#levels.count}`,
      );
    return Math.min(level, this.#levels.count);
  }

  #deliverAt(at: number): number {
    if (!Number.isSafeInteger(at) || at < 0)
      throw new MqgateError('MQ_ERR_DELIVER_AT_INVALID', `${at} is not a time in ms since the epoch`);
    const ahead = at - Date.now();
    const max = this.#options.maxTimerDelayMs;
    if (ahead > max)
      throw new MqgateError(
        'MQ_ERR_DELIVER_AT_INVALID',
        `${new Date(at).toISOString()} is ${Math.round(ahead / 60_000)} minutes ahead; at most ${Math.round(max / 60_000)} are allowed (maxTimerDelayMs)`,
      );
    return at;
  }
}
