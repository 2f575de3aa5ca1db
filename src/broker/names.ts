import { topicNameProblem } from '../message/message.js';
import { MqgateError } from '../errors.js';
import { isSystemTopic } from './system-topics.js';

/** A group's name must leave room for `%RETRY%` in front within a topic name's 127 characters. */
export const GROUP_MAX_LENGTH = 120;
const GROUP_PATTERN = /^[a-zA-Z0-9_-]+$/;

/** @throws MqgateError `MQ_ERR_GROUP_INVALID` unless letters, digits, `_` and `-`, at most 120 */
export function checkGroupName(group: unknown): string {
  if (typeof group !== 'string' || group.length === 0)
    throw new MqgateError('MQ_ERR_GROUP_INVALID', 'the group name is empty');
  if (group.length > GROUP_MAX_LENGTH)
    throw new MqgateError(
      'MQ_ERR_GROUP_INVALID',
      `the group name has ${group.length} characters, at most ${GROUP_MAX_LENGTH} are allowed`,
    );
  if (!GROUP_PATTERN.test(group))
    throw new MqgateError(
      'MQ_ERR_GROUP_INVALID',
      `the group name "${group}" may only contain letters, digits, '_' and '-'`,
    );
  return group;
}

/** @throws MqgateError `MQ_ERR_TOPIC_INVALID` for a name outside RocketMQ's rule */
export function checkTopicName(topic: unknown): string {
  if (typeof topic !== 'string')
    throw new MqgateError('MQ_ERR_TOPIC_INVALID', 'the topic name must be a string');
  const problem = topicNameProblem(topic);
  if (problem !== undefined) throw new MqgateError('MQ_ERR_TOPIC_INVALID', problem);
  return topic;
}

/** A topic a user may name in a request for writing or creating: valid and not a system topic. */
export function checkUserTopic(topic: unknown): string {
  const name = checkTopicName(topic);
  if (isSystemTopic(name))
    throw new MqgateError(
      'MQ_ERR_TOPIC_SYSTEM',
      `"${name}" is a system topic; the broker writes it, user requests cannot`,
    );
  return name;
}
