import path from 'node:path';
import { MqgateError } from '../errors.js';
import { readJsonFile, writeJsonFile } from './json-file.js';
import { checkGroupName } from './names.js';

export const ConsumeMode = {
  /** Each message goes to one consumer of the group; the broker keeps the offsets. */
  CLUSTERING: 'CLUSTERING',
  /** Every consumer gets every message; offsets per consumer; failures are dropped. */
  BROADCASTING: 'BROADCASTING',
} as const;
export type ConsumeMode = (typeof ConsumeMode)[keyof typeof ConsumeMode];

/** Where a group starts on a queue it has no offset for (RocketMQ's ConsumeFromWhere). */
export const ConsumeFrom = {
  LAST: 'LAST',
  FIRST: 'FIRST',
  TIMESTAMP: 'TIMESTAMP',
} as const;
export type ConsumeFrom = (typeof ConsumeFrom)[keyof typeof ConsumeFrom];

export interface GroupConfig {
  readonly name: string;
  readonly consumeMode: ConsumeMode;
  /** A queue's next message only after the previous one is acked; one consumer per queue. */
  readonly orderly: boolean;
  /**
   * Deliveries after the first before a message goes to the DLQ. Defaults: 16 for concurrent
   * groups; -1 (unbounded) for orderly groups, as RocketMQ.
   */
  readonly maxReconsumeTimes: number;
  /**
   * Delay level of the Nth retry (index = reconsumeTimes; the last repeats). Absent: RocketMQ's
   * `3 + reconsumeTimes`.
   */
  readonly retryDelayLevels?: readonly number[] | undefined;
  readonly consumeFrom: ConsumeFrom;
  /** With consumeFrom TIMESTAMP: start at the first message stored at or after it. */
  readonly consumeTimestamp?: number | undefined;
  /** Orderly groups: how long a nacked queue is suspended before redelivery. @defaultValue 1000 */
  readonly suspendMs: number;
  readonly createdAt: number;
}

export type GroupUpdate = Partial<Omit<GroupConfig, 'name' | 'createdAt'>>;

interface GroupsFile {
  readonly version: 1;
  readonly groups: GroupConfig[];
}

function bad(detail: string): MqgateError {
  return new MqgateError('MQ_ERR_GROUP_INVALID', detail);
}

/** Consumer groups, persisted in `{dataDir}/config/groups.json`. */
export class GroupRegistry {
  readonly #file: string;
  readonly #groups = new Map<string, GroupConfig>();
  readonly #maxDelayLevel: number;

  constructor(configDir: string, maxDelayLevel: number) {
    this.#file = path.join(configDir, 'groups.json');
    this.#maxDelayLevel = maxDelayLevel;
    const data = readJsonFile(this.#file) as GroupsFile | undefined;
    for (const g of data?.groups ?? []) this.#groups.set(g.name, g);
  }

  get(name: string): GroupConfig | undefined {
    return this.#groups.get(name);
  }

  list(): GroupConfig[] {
    return [...this.#groups.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /**
   * Creates a group or changes its settings (PUT semantics: fields not given keep their value).
   *
   * @throws MqgateError `MQ_ERR_GROUP_INVALID` naming the setting that is wrong
   */
  upsert(name: string, update: GroupUpdate = {}): GroupConfig {
    checkGroupName(name);
    const old = this.#groups.get(name);
    const consumeMode = update.consumeMode ?? old?.consumeMode ?? ConsumeMode.CLUSTERING;
    if (consumeMode !== 'CLUSTERING' && consumeMode !== 'BROADCASTING')
      throw bad(`consumeMode must be CLUSTERING or BROADCASTING, got ${String(consumeMode)}`);
    const orderly = update.orderly ?? old?.orderly ?? false;
    if (typeof orderly !== 'boolean') throw bad(`orderly must be true or false`);
    const modeChanged = old !== undefined && update.orderly !== undefined && update.orderly !== old.orderly;
    const maxReconsumeTimes =
      update.maxReconsumeTimes ?? (modeChanged ? undefined : old?.maxReconsumeTimes) ?? (orderly ? -1 : 16);
    if (!Number.isInteger(maxReconsumeTimes) || maxReconsumeTimes < -1)
      throw bad(`maxReconsumeTimes must be an integer >= -1 (-1: unbounded), got ${maxReconsumeTimes}`);
    const retryDelayLevels =
      update.retryDelayLevels === undefined ? old?.retryDelayLevels : update.retryDelayLevels;
    if (retryDelayLevels !== undefined) {
      if (!Array.isArray(retryDelayLevels) || retryDelayLevels.length === 0)
        throw bad('retryDelayLevels must be a non-empty list of delay levels');
      for (const l of retryDelayLevels)
        if (!Number.isInteger(l) || l < 1 || l > this.#maxDelayLevel)
          throw bad(`retryDelayLevels holds ${String(l)}: each must be a level 1..${this.#maxDelayLevel}`);
    }
    const consumeFrom = update.consumeFrom ?? old?.consumeFrom ?? ConsumeFrom.LAST;
    if (consumeFrom !== 'LAST' && consumeFrom !== 'FIRST' && consumeFrom !== 'TIMESTAMP')
      throw bad(`consumeFrom must be LAST, FIRST or TIMESTAMP, got ${String(consumeFrom)}`);
    const consumeTimestamp = update.consumeTimestamp ?? old?.consumeTimestamp;
    if (consumeTimestamp !== undefined && (!Number.isSafeInteger(consumeTimestamp) || consumeTimestamp < 0))
      throw bad(`consumeTimestamp must be a time in ms since the epoch, got ${String(consumeTimestamp)}`);
    const suspendMs = update.suspendMs ?? old?.suspendMs ?? 1000;
    if (!Number.isSafeInteger(suspendMs) || suspendMs < 1) throw bad(`suspendMs must be an integer >= 1`);
    const config: GroupConfig = {
      name,
      consumeMode,
      orderly,
      maxReconsumeTimes,
      ...(retryDelayLevels === undefined ? {} : { retryDelayLevels: [...retryDelayLevels] }),
      consumeFrom,
      ...(consumeTimestamp === undefined ? {} : { consumeTimestamp }),
      suspendMs,
      createdAt: old?.createdAt ?? Date.now(),
    };
    this.#groups.set(name, config);
    this.#save();
    return config;
  }

  /** @returns false when there was no such group */
  delete(name: string): boolean {
    if (!this.#groups.delete(name)) return false;
    this.#save();
    return true;
  }

  #save(): void {
    const file: GroupsFile = { version: 1, groups: [...this.#groups.values()] };
    writeJsonFile(this.#file, file);
  }
}
