import type { MessageInput, StoredMessage } from '../../message/message.js';
import type { DelayLevels } from '../delay-levels.js';
import type { GroupConfig } from '../group-registry.js';
import { movedMessage } from '../moved-message.js';
import { Prop, dlqTopic, retryTopic } from '../system-topics.js';
import { withProps, withoutProps } from '../../message/props.js';

/** RocketMQ: the first retry is level 3 (10 s), each further one a level later. */
const FIRST_RETRY_LEVEL = 3;

/** The delay level of the retry after a message's `reconsumeTimes`-th failure (0-based). */
export function retryLevel(group: GroupConfig, reconsumeTimes: number, levels: DelayLevels): number {
  const policy = group.retryDelayLevels;
  if (policy !== undefined && policy.length > 0)
    return policy[Math.min(reconsumeTimes, policy.length - 1)] ?? FIRST_RETRY_LEVEL;
  return Math.min(FIRST_RETRY_LEVEL + reconsumeTimes, levels.count);
}

/** True when a failure of a message consumed `reconsumeTimes` times before sends it to the DLQ. */
export function exhausted(group: GroupConfig, reconsumeTimes: number): boolean {
  return group.maxReconsumeTimes >= 0 && reconsumeTimes >= group.maxReconsumeTimes;
}

/** The topic a message was first sent to, for a message read from a user or retry topic. */
export function originTopic(m: StoredMessage): string {
  return m.properties[Prop.RETRY_TOPIC] ?? m.topic;
}

/** The copy of a failed message written to `%RETRY%{group}` (same msgId, reconsumeTimes + 1). */
export function retryMessage(group: string, m: StoredMessage): MessageInput {
  const reconsumeTimes = m.reconsumeTimes + 1;
  return movedMessage(m, {
    topic: retryTopic(group),
    queueId: 0,
    reconsumeTimes,
    sysFlag: 0,
    properties: withProps(m.properties, {
      [Prop.RETRY_TOPIC]: originTopic(m),
      [Prop.ORIGIN_MESSAGE_ID]: m.properties[Prop.ORIGIN_MESSAGE_ID] ?? m.msgId,
      [Prop.RECONSUME_TIME]: String(reconsumeTimes),
      [Prop.CONSUMER_GROUP]: group,
    }),
  });
}

/** The copy of a message that ran out of retries, written to `%DLQ%{group}`. */
export function deadLetterMessage(group: string, m: StoredMessage): MessageInput {
  return movedMessage(m, {
    topic: dlqTopic(group),
    queueId: 0,
    sysFlag: 0,
    properties: withProps(m.properties, {
      [Prop.DLQ_ORIGIN_TOPIC]: originTopic(m),
      [Prop.DLQ_ORIGIN_MESSAGE_ID]: m.properties[Prop.ORIGIN_MESSAGE_ID] ?? m.msgId,
      [Prop.CONSUMER_GROUP]: group,
    }),
  });
}

const CLEARED_ON_RESEND: readonly string[] = [
  Prop.RETRY_TOPIC,
  Prop.ORIGIN_MESSAGE_ID,
  Prop.RECONSUME_TIME,
  Prop.DLQ_ORIGIN_TOPIC,
  Prop.DLQ_ORIGIN_MESSAGE_ID,
  Prop.CONSUMER_GROUP,
];

/** A dead-lettered message sent back to its original topic with a fresh reconsume count. */
export function resentMessage(m: StoredMessage, queueId: number): MessageInput {
  return movedMessage(m, {
    topic: m.properties[Prop.DLQ_ORIGIN_TOPIC] ?? m.topic,
    queueId,
    reconsumeTimes: 0,
    sysFlag: 0,
    properties: withoutProps(m.properties, CLEARED_ON_RESEND),
  });
}
