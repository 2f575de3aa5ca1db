import { MqgateError } from '../errors.js';
import type { MessageStore } from '../store/index.js';
import type { ConsumerState } from './consume/consumer-state.js';
import type { ConsumeEngine } from './consume/engine.js';
import type { CursorKey } from './consume/queue-cursor.js';
import type { GroupConfig } from './group-registry.js';
import type { TopicConfig } from './topic-registry.js';

/** Where a reset moves a group: the first or last offset, or the first message at a time (ms). */
export type OffsetTarget = 'FIRST' | 'LAST' | number;

export interface QueueOffset {
  readonly queueId: number;
  /** The committed offset: every message below it is done for the group. */
  readonly offset: number;
  readonly minOffset: number;
  readonly maxOffset: number;
  /** maxOffset - offset. */
  readonly lag: number;
  /** Messages handed out and not settled yet. */
  readonly inflight: number;
}

/** Committed offsets of groups: listing with lag, commits by pull consumers, resets. */
export class OffsetAdmin {
  readonly #store: MessageStore;
  readonly #state: ConsumerState;
  readonly #engine: ConsumeEngine;

  constructor(store: MessageStore, state: ConsumerState, engine: ConsumeEngine) {
    this.#store = store;
    this.#state = state;
    this.#engine = engine;
  }

  #key(g: GroupConfig, t: TopicConfig, queueId: number, client: string): CursorKey {
    return { group: g.name, client, topic: t.name, queueId, retryOf: '' };
  }

  async list(g: GroupConfig, t: TopicConfig, client: string): Promise<QueueOffset[]> {
    const out: QueueOffset[] = [];
    for (let queueId = 0; queueId < t.queues; queueId++) {
      const c = await this.#engine.cursor(this.#key(g, t, queueId, client), g);
      const maxOffset = this.#store.maxOffset(t.name, queueId);
      out.push({
        queueId,
        offset: c.ackOffset,
        minOffset: this.#store.minOffset(t.name, queueId),
        maxOffset,
        lag: c.lag(maxOffset),
        inflight: c.inflight.size,
      });
    }
    return out;
  }

  /**
   * Sets the committed offset of one queue; what was in flight there is forgotten (its handles
   * stop working).
   *
   * @throws MqgateError `MQ_ERR_QUEUE_INVALID`, `MQ_ERR_OFFSET_INVALID` (outside min..max)
   */
  async commit(
    g: GroupConfig,
    t: TopicConfig,
    queueId: number,
    offset: number,
    client: string,
  ): Promise<void> {
    if (!Number.isInteger(queueId) || queueId < 0 || queueId >= t.queues)
      throw new MqgateError(
        'MQ_ERR_QUEUE_INVALID',
        `topic "${t.name}" has queues 0..${t.queues - 1}, not ${queueId}`,
      );
    const min = this.#store.minOffset(t.name, queueId);
    const max = this.#store.maxOffset(t.name, queueId);
    if (!Number.isSafeInteger(offset) || offset < min || offset > max)
      throw new MqgateError(
        'MQ_ERR_OFFSET_INVALID',
        `queue ${queueId} of "${t.name}" has offsets ${min}..${max}, not ${offset}`,
        {
          details: { minOffset: min, maxOffset: max },
        },
      );
    const key = this.#key(g, t, queueId, client);
    const c = await this.#engine.cursor(key, g);
    await this.#engine.serial(c, () => Promise.resolve(this.#state.init(key, offset)));
  }

  async reset(g: GroupConfig, t: TopicConfig, to: OffsetTarget, client: string): Promise<void> {
    if (to !== 'FIRST' && to !== 'LAST' && !(Number.isSafeInteger(to) && to >= 0))
      throw new MqgateError(
        'MQ_ERR_OFFSET_INVALID',
        `reset to FIRST, LAST or a time in ms, not ${String(to)}`,
      );
    for (let queueId = 0; queueId < t.queues; queueId++) {
      const offset =
        to === 'FIRST'
          ? this.#store.minOffset(t.name, queueId)
          : to === 'LAST'
            ? this.#store.maxOffset(t.name, queueId)
            : await this.#store.offsetByTime(t.name, queueId, to);
      await this.commit(g, t, queueId, offset, client);
    }
  }
}
