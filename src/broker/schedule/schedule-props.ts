import type { MessageInput, StoredMessage } from '../../message/message.js';
import { SysFlag } from '../../message/message.js';
import { movedMessage } from '../moved-message.js';
import { SCHEDULE_TOPIC, TIMER_TOPIC } from '../system-topics.js';
import { placed, withProps, withoutProps } from '../../message/props.js';

/** Properties of a message waiting in the scheduler (RocketMQ's MessageConst names). */
export const ScheduleProp = {
  REAL_TOPIC: 'REAL_TOPIC',
  REAL_QID: 'REAL_QID',
  /** The delay level asked for (1-based). */
  DELAY: 'DELAY',
  /** A timer's delivery time, ms since the epoch. */
  TIMER_DELIVER_MS: '__STARTDELIVERTIME',
  /**
   * On a delivered message: the CommitLog offset of the scheduled record it came from. After a
   * crash the scheduler looks for it before delivering again, so nothing is delivered twice.
   */
  SCHEDULED_FROM: '__SCHEDULED_FROM',
} as const;

/** The record that waits in `SCHEDULE_TOPIC_XXXX` (queue level - 1) for a message with a level. */
export function delayedRecord(m: MessageInput, level: number): MessageInput {
  const properties = withProps(m.properties);
  properties[ScheduleProp.REAL_TOPIC] = m.topic;
  properties[ScheduleProp.REAL_QID] = String(m.queueId);
  properties[ScheduleProp.DELAY] = String(level);
  return placed(m, {
    topic: SCHEDULE_TOPIC,
    queueId: level - 1,
    sysFlag: (m.sysFlag ?? 0) | SysFlag.DELAY,
    properties,
  });
}

/** The record that waits in the timer topic for a message with a delivery time. */
export function timerRecord(m: MessageInput, deliverAt: number): MessageInput {
  const properties = withProps(m.properties);
  properties[ScheduleProp.REAL_TOPIC] = m.topic;
  properties[ScheduleProp.REAL_QID] = String(m.queueId);
  properties[ScheduleProp.TIMER_DELIVER_MS] = String(deliverAt);
  return placed(m, { topic: TIMER_TOPIC, queueId: 0, sysFlag: (m.sysFlag ?? 0) | SysFlag.DELAY, properties });
}

const CLEARED: readonly string[] = [ScheduleProp.DELAY, ScheduleProp.TIMER_DELIVER_MS];

/** The message as delivered to its real topic when due (same msgId, the scheduling cleared). */
export function dueMessage(m: StoredMessage): MessageInput {
  const properties = withoutProps(m.properties, CLEARED);
  properties[ScheduleProp.SCHEDULED_FROM] = String(m.commitLogOffset);
  return movedMessage(m, {
    topic: m.properties[ScheduleProp.REAL_TOPIC] ?? m.topic,
    queueId: Number(m.properties[ScheduleProp.REAL_QID] ?? 0),
    properties,
    sysFlag: m.sysFlag & ~SysFlag.DELAY,
  });
}
