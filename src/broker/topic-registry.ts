import path from 'node:path';
import { MqgateError } from '../errors.js';
import { readJsonFile, writeJsonFile } from './json-file.js';
import { checkTopicName, checkUserTopic } from './names.js';
import { isSystemTopic } from './system-topics.js';

/** Topic permissions, as RocketMQ's PermName (6 = read+write, 4 = read, 2 = write). */
export const TopicPerm = {
  READ_WRITE: 'RW',
  READ: 'R',
  WRITE: 'W',
} as const;
export type TopicPerm = (typeof TopicPerm)[keyof typeof TopicPerm];

export interface TopicConfig {
  readonly name: string;
  /** Number of queues (RocketMQ read/write queue nums, kept equal). */
  readonly queues: number;
  readonly perm: TopicPerm;
  /** Owned by the broker core (retry, DLQ, schedule, transaction topics). */
  readonly system: boolean;
  readonly createdAt: number;
  /** The backend the topic lives on; absent: the embedded log (`local`). Fixed once it has messages. */
  readonly backend?: string | undefined;
}

export interface TopicUpdate {
  /** @defaultValue the broker's defaultTopicQueues (4) on create; unchanged on update */
  readonly queues?: number | undefined;
  /** @defaultValue RW */
  readonly perm?: TopicPerm | undefined;
  /** @defaultValue unchanged; `local` on create (the gateway decides, see its routes) */
  readonly backend?: string | undefined;
}

/** RocketMQ caps a topic's queues at 1024 per broker by default; so do we. */
export const MAX_TOPIC_QUEUES = 1024;

interface TopicsFile {
  readonly version: 1;
  readonly topics: TopicConfig[];
}

/** The topics the broker knows, persisted in `{dataDir}/config/topics.json`. */
export class TopicRegistry {
  readonly #file: string;
  readonly #defaultQueues: number;
  readonly #topics = new Map<string, TopicConfig>();

  constructor(configDir: string, defaultQueues: number) {
    this.#file = path.join(configDir, 'topics.json');
    this.#defaultQueues = defaultQueues;
    const data = readJsonFile(this.#file) as TopicsFile | undefined;
    for (const t of data?.topics ?? []) this.#topics.set(t.name, t);
  }

  get(name: string): TopicConfig | undefined {
    return this.#topics.get(name);
  }

  list(opts: { system?: boolean } = {}): TopicConfig[] {
    return [...this.#topics.values()]
      .filter((t) => opts.system === true || !t.system)
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Creates a topic or changes its queues and permission (PUT semantics). Queues may grow; they
   * never shrink below what holds messages (a shrink would hide them), as in RocketMQ, where the
   * queues stay on disk and only the route shrinks: here a shrink is refused.
   *
   * @throws MqgateError `MQ_ERR_TOPIC_INVALID`, `MQ_ERR_TOPIC_SYSTEM`, `MQ_ERR_QUEUE_INVALID`
   */
  upsert(name: string, update: TopicUpdate = {}, opts: { system?: boolean } = {}): TopicConfig {
    const system = opts.system === true;
    if (system) checkTopicName(name);
    else checkUserTopic(name);
    const old = this.#topics.get(name);
    const queues = update.queues ?? old?.queues ?? (system ? 1 : this.#defaultQueues);
    if (!Number.isInteger(queues) || queues < 1 || queues > MAX_TOPIC_QUEUES)
      throw new MqgateError('MQ_ERR_QUEUE_INVALID', `queues must be 1..${MAX_TOPIC_QUEUES}, got ${queues}`);
    if (old !== undefined && queues < old.queues)
      throw new MqgateError(
        'MQ_ERR_QUEUE_INVALID',
        `topic "${name}" has ${old.queues} queues; queues can be added but not removed`,
      );
    const perm = update.perm ?? old?.perm ?? TopicPerm.READ_WRITE;
    if (perm !== 'RW' && perm !== 'R' && perm !== 'W')
      throw new MqgateError('MQ_ERR_TOPIC_INVALID', `perm must be RW, R or W, got ${String(perm)}`);
    const b = update.backend ?? old?.backend;
    const backend = b === 'local' ? undefined : b;
    if (old !== undefined && old.queues === queues && old.perm === perm && old.backend === backend)
      return old;
    const config: TopicConfig = {
      name,
      queues,
      perm,
      system,
      createdAt: old?.createdAt ?? Date.now(),
      ...(backend === undefined ? {} : { backend }),
    };
    this.#topics.set(name, config);
    this.#save();
    return config;
  }

  /** A system topic, created with one queue on first use. */
  system(name: string): TopicConfig {
    return this.#topics.get(name) ?? this.upsert(name, {}, { system: true });
  }

  /**
   * Removes a topic's configuration. Its stored messages stay until retention removes them.
   *
   * @returns false when there was no such topic
   * @throws MqgateError `MQ_ERR_TOPIC_SYSTEM` for a system topic
   */
  delete(name: string): boolean {
    if (isSystemTopic(name))
      throw new MqgateError('MQ_ERR_TOPIC_SYSTEM', `"${name}" is a system topic and cannot be deleted`);
    if (!this.#topics.delete(name)) return false;
    this.#save();
    return true;
  }

  #save(): void {
    const file: TopicsFile = { version: 1, topics: [...this.#topics.values()] };
    writeJsonFile(this.#file, file);
  }
}
