/**
 * Names of RocketMQ's system topics and the properties the broker core writes on messages it
 * moves between them. User requests never write to a system topic directly.
 */

/** Prefix of a group's retry topic: `%RETRY%{group}` (one queue). */
export const RETRY_GROUP_TOPIC_PREFIX = '%RETRY%';
/** Prefix of a group's dead-letter topic: `%DLQ%{group}` (one queue). */
export const DLQ_GROUP_TOPIC_PREFIX = '%DLQ%';
/** Delayed messages wait here, queue = level - 1 (the scheduler). */
export const SCHEDULE_TOPIC = 'SCHEDULE_TOPIC_XXXX';
/** Messages with a delivery time wait here (RocketMQ 5's timer topic). */
export const TIMER_TOPIC = 'rmq_sys_wheel_timer';
/** Transactional half messages. */
export const TRANS_HALF_TOPIC = 'RMQ_SYS_TRANS_HALF_TOPIC';
/** Commit/rollback op records of half messages. */
export const TRANS_OP_HALF_TOPIC = 'RMQ_SYS_TRANS_OP_HALF_TOPIC';
/** Half messages checked transactionCheckMax times without an answer. */
export const TRANS_CHECK_MAX_TIME_TOPIC = 'TRANS_CHECK_MAX_TIME_TOPIC';

const SYSTEM_TOPICS: ReadonlySet<string> = new Set([
  SCHEDULE_TOPIC,
  TRANS_HALF_TOPIC,
  TRANS_OP_HALF_TOPIC,
  TRANS_CHECK_MAX_TIME_TOPIC,
]);

/** Properties of RocketMQ's MessageConst that the retry and DLQ paths carry. */
export const Prop = {
  /** The topic a retried message was first sent to. */
  RETRY_TOPIC: 'RETRY_TOPIC',
  /** The msgId of the message a retry copy was made from. */
  ORIGIN_MESSAGE_ID: 'ORIGIN_MESSAGE_ID',
  /** How many times the message was consumed before (string of a number). */
  RECONSUME_TIME: 'RECONSUME_TIME',
  /** The topic a dead-lettered message came from (the original topic, not the retry topic). */
  DLQ_ORIGIN_TOPIC: 'DLQ_ORIGIN_TOPIC',
  DLQ_ORIGIN_MESSAGE_ID: 'DLQ_ORIGIN_MESSAGE_ID',
  /** Consumer group a retried or dead-lettered message failed in. */
  CONSUMER_GROUP: 'CONSUMER_GROUP',
  /** Sharding key of an ordered message. */
  SHARDING_KEY: '__SHARDINGKEY',
} as const;

export function retryTopic(group: string): string {
  return RETRY_GROUP_TOPIC_PREFIX + group;
}

export function dlqTopic(group: string): string {
  return DLQ_GROUP_TOPIC_PREFIX + group;
}

export function isRetryTopic(topic: string): boolean {
  return topic.startsWith(RETRY_GROUP_TOPIC_PREFIX);
}

export function isDlqTopic(topic: string): boolean {
  return topic.startsWith(DLQ_GROUP_TOPIC_PREFIX);
}

/** True for every topic the broker core owns: retry, DLQ, schedule and transaction topics. */
export function isSystemTopic(topic: string): boolean {
  return isRetryTopic(topic) || isDlqTopic(topic) || SYSTEM_TOPICS.has(topic) || topic.startsWith('rmq_sys_');
}
