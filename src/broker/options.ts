import type { Logger } from 'pino';
import { pino } from 'pino';
import { MqgateError } from '../errors.js';
import type { StoreOptions } from '../store/index.js';
import { DEFAULT_DELAY_LEVELS } from './delay-levels.js';
import type { ShardingHash } from './queue-selector.js';

export interface BrokerOptions {
  /** Directory of the store and of the broker's config and consumer state. */
  readonly dataDir: string;
  /** Store settings (dataDir and logger come from here). */
  readonly store?: Omit<StoreOptions, 'dataDir' | 'logger'>;
  /** Queues of a topic created without a count. @defaultValue 4 */
  readonly defaultTopicQueues?: number;
  /** Create a topic on its first send (RocketMQ's autoCreateTopicEnable). @defaultValue true */
  readonly autoCreateTopics?: boolean;
  /** Create a group on its first use (autoCreateSubscriptionGroup). @defaultValue true */
  readonly autoCreateGroups?: boolean;
  /** Delay level table, units ms s m h d. @defaultValue RocketMQ's 18 levels `1s 5s ... 2h` */
  readonly delayLevels?: string;
  /** How a sharding key picks its queue. @defaultValue consistent (RocketMQ 5 proxy) */
  readonly shardingHash?: ShardingHash;
  /** Shortest invisible duration a receive may ask for. @defaultValue 10000 (RocketMQ 5: 10 s) */
  readonly minInvisibleMs?: number;
  /** Longest invisible duration. @defaultValue 43200000 (12 h) */
  readonly maxInvisibleMs?: number;
  /** Invisible duration of a receive that gives none. @defaultValue 30000 */
  readonly defaultInvisibleMs?: number;
  /** Longest long-poll wait. @defaultValue 30000 */
  readonly maxWaitMs?: number;
  /** A push consumer not heard from for this long is dropped from its group. @defaultValue 120000 */
  readonly consumerExpiryMs?: number;
  /** How long a pushed message may stay unsettled before it is redelivered. @defaultValue 60000 */
  readonly pushAckTimeoutMs?: number;
  /** Unsettled messages a push subscriber holds when it does not say. @defaultValue 32 */
  readonly defaultCredit?: number;
  /** Furthest a `deliverAt` may lie ahead. @defaultValue 259200000 (3 days, RocketMQ's broker limit) */
  readonly maxTimerDelayMs?: number;
  /** Half messages younger than this are not checked back. @defaultValue 6000 */
  readonly transactionTimeoutMs?: number;
  /** How often pending half messages are checked back. @defaultValue 30000 */
  readonly transactionCheckIntervalMs?: number;
  /** Checks before a half message is discarded. @defaultValue 15 */
  readonly transactionCheckMax?: number;
  /** How often consumer state is fsynced. @defaultValue 1000 */
  readonly stateFlushIntervalMs?: number;
  readonly logger?: Logger;
}

export type ResolvedBrokerOptions = Required<Omit<BrokerOptions, 'store'>> & {
  readonly store: Omit<StoreOptions, 'dataDir' | 'logger'>;
};

function int(key: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(v) || v < min || v > max)
    throw new MqgateError(
      'MQ_ERR_CONFIG_INVALID',
      `broker.${key} must be an integer ${min}..${max}, got ${v}`,
    );
  return v;
}

function bool(key: string, v: boolean): boolean {
  if (typeof v !== 'boolean')
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', `broker.${key} must be true or false`);
  return v;
}

/** Applies defaults and checks each value; a bad one names its key. */
export function resolveBrokerOptions(o: BrokerOptions): ResolvedBrokerOptions {
  if (typeof o.dataDir !== 'string' || o.dataDir.length === 0)
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', 'broker.dataDir must be a non-empty path');
  const shardingHash = o.shardingHash ?? 'consistent';
  if (shardingHash !== 'consistent' && shardingHash !== 'java-mod')
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', `broker.shardingHash must be consistent or java-mod`);
  const minInvisibleMs = int('minInvisibleMs', o.minInvisibleMs ?? 10_000, 1);
  const maxInvisibleMs = int('maxInvisibleMs', o.maxInvisibleMs ?? 43_200_000, minInvisibleMs);
  const defaultInvisibleMs = int(
    'defaultInvisibleMs',
    o.defaultInvisibleMs ?? 30_000,
    minInvisibleMs,
    maxInvisibleMs,
  );
  return {
    dataDir: o.dataDir,
    store: o.store ?? {},
    defaultTopicQueues: int('defaultTopicQueues', o.defaultTopicQueues ?? 4, 1, 1024),
    autoCreateTopics: bool('autoCreateTopics', o.autoCreateTopics ?? true),
    autoCreateGroups: bool('autoCreateGroups', o.autoCreateGroups ?? true),
    delayLevels: o.delayLevels ?? DEFAULT_DELAY_LEVELS,
    shardingHash,
    minInvisibleMs,
    maxInvisibleMs,
    defaultInvisibleMs,
    maxWaitMs: int('maxWaitMs', o.maxWaitMs ?? 30_000, 0),
    consumerExpiryMs: int('consumerExpiryMs', o.consumerExpiryMs ?? 120_000, 1),
    pushAckTimeoutMs: int('pushAckTimeoutMs', o.pushAckTimeoutMs ?? 60_000, 1),
    defaultCredit: int('defaultCredit', o.defaultCredit ?? 32, 1, 10_000),
    maxTimerDelayMs: int('maxTimerDelayMs', o.maxTimerDelayMs ?? 3 * 86_400_000, 1),
    transactionTimeoutMs: int('transactionTimeoutMs', o.transactionTimeoutMs ?? 6000, 0),
    transactionCheckIntervalMs: int('transactionCheckIntervalMs', o.transactionCheckIntervalMs ?? 30_000, 1),
    transactionCheckMax: int('transactionCheckMax', o.transactionCheckMax ?? 15, 0),
    stateFlushIntervalMs: int('stateFlushIntervalMs', o.stateFlushIntervalMs ?? 1000, 1),
    logger: o.logger ?? pino({ level: 'silent' }),
  };
}
