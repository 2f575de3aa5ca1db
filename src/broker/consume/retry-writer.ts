import { MqgateError } from '../../errors.js';
import type { MessageInput, StoredMessage } from '../../message/message.js';
import type { MessageStore } from '../../store/index.js';
import type { DelayLevels } from '../delay-levels.js';
import { delayedRecord } from '../schedule/schedule-props.js';
import { retryTopic } from '../system-topics.js';
import type { TopicRegistry } from '../topic-registry.js';
import { deadLetterMessage, retryMessage } from './retry.js';

/**
 * Writes the copies a failed message leaves behind: to `%RETRY%{group}` now, to the scheduler
 * at a delay level (RocketMQ's send-back), or to `%DLQ%{group}`. Each resolves once the copy is
 * stored and throws when the store refuses it (the original then stays in flight).
 */
export class RetryWriter {
  readonly #store: MessageStore;
  readonly #topics: TopicRegistry;
  readonly #levels: DelayLevels;

  constructor(store: MessageStore, topics: TopicRegistry, levels: DelayLevels) {
    this.#store = store;
    this.#topics = topics;
    this.#levels = levels;
  }

  /** The retry copy, in `%RETRY%{group}` at once. */
  retryNow(group: string, m: StoredMessage): Promise<void> {
    return this.#put(retryMessage(group, m));
  }

  /** The retry copy, through the scheduler at `level` (clamped to the last level). */
  retryAfter(group: string, m: StoredMessage, level: number): Promise<void> {
    this.#topics.system(retryTopic(group));
    return this.#put(delayedRecord(retryMessage(group, m), Math.min(level, this.#levels.count)));
  }

  deadLetter(group: string, m: StoredMessage): Promise<void> {
    return this.#put(deadLetterMessage(group, m));
  }

  async #put(msg: MessageInput): Promise<void> {
    this.#topics.system(msg.topic);
    const r = await this.#store.putMessage(msg);
    if (r.status !== 'PUT_OK' && r.status !== 'FLUSH_DISK_TIMEOUT')
      throw new MqgateError('MQ_ERR_STORE_NOT_WRITABLE', `writing to ${msg.topic} answered ${r.status}`);
  }
}
