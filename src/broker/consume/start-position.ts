import type { MessageStore } from '../../store/index.js';
import type { GroupConfig } from '../group-registry.js';
import { ConsumeFrom } from '../group-registry.js';
import type { CursorKey } from './queue-cursor.js';

/** RocketMQ's default consumeTimestamp: half an hour before the group starts. */
const DEFAULT_TIMESTAMP_BACK_MS = 30 * 60_000;

/** Where a group starts on a queue it has no offset for (RocketMQ's ConsumeFromWhere). */
export class StartPosition {
  readonly #store: MessageStore;

  constructor(store: MessageStore) {
    this.#store = store;
  }

  async offsetFor(key: CursorKey, group: GroupConfig): Promise<number> {
    const { topic, queueId } = key;
    // Retries exist only once the group consumes: its cursor on them starts at the beginning.
    if (key.retryOf !== '') return this.#store.minOffset(topic, queueId);
    switch (group.consumeFrom) {
      case ConsumeFrom.FIRST:
        return this.#store.minOffset(topic, queueId);
      case ConsumeFrom.TIMESTAMP:
        return this.#store.offsetByTime(
          topic,
          queueId,
          group.consumeTimestamp ?? Date.now() - DEFAULT_TIMESTAMP_BACK_MS,
        );
      default:
        return this.#store.maxOffset(topic, queueId);
    }
  }
}
