import path from 'node:path';
import { readJsonFile, writeJsonFile } from '../../src/broker/json-file.js';

/**
 * The committed offsets of groups that a backend without offsets of its own keeps for them (the
 * bare backend, RabbitMQ streams), as a broker keeps them: per group,
 * topic and queue, every message below the offset is done. Saved to `positions.json` (write,
 * fsync, rename) a moment after a change and on close: a crash can lose the last moment's
 * commits, which are delivered again (at least once, as a Kafka consumer group).
 */
export class GroupPositions {
  readonly #file: string;
  readonly #offsets = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(dir: string) {
    this.#file = path.join(dir, 'positions.json');
    const data = readJsonFile(this.#file) as Record<string, number> | undefined;
    for (const [k, v] of Object.entries(data ?? {})) this.#offsets.set(k, v);
  }

  static key(group: string, topic: string, queueId: number): string {
    return `${group}\u0001${topic}\u0001${queueId}`;
  }

  get(group: string, topic: string, queueId: number): number | undefined {
    return this.#offsets.get(GroupPositions.key(group, topic, queueId));
  }

  set(group: string, topic: string, queueId: number, offset: number): void {
    this.#offsets.set(GroupPositions.key(group, topic, queueId), offset);
    this.#timer ??= setTimeout(() => this.save(), 50);
  }

  save(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    writeJsonFile(this.#file, Object.fromEntries(this.#offsets));
  }
}
