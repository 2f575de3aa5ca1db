/**
 * What mqgate's names become on Kafka. A group's consumers of one topic are the Kafka group
 * `{group}@{topic}`, not `{group}`: kafkajs's assigner hands every member partitions of every
 * topic any member subscribed to, and a member drops those of topics it does not read itself, so
 * one Kafka group reading several topics (one consumer per topic, or gateways reading different
 * topics) would leave partitions unread. A topic name has no `@`, so the name is unambiguous.
 *
 * Retry and DLQ topics (retry-topics.ts) are `mqgate.retry.{group}.{topic}` and
 * `mqgate.dlq.{group}`; Kafka topic names take only letters, digits, `.`, `_` and `-`, so other
 * characters of a name become `_`, with a hash of the name so names stay apart.
 */
import { createHash } from 'node:crypto';

/** The Kafka group of an mqgate group's consumers of `topic`. */
export const groupIdOf = (group: string, topic: string): string => `${group}@${topic}`;

/** A name as a part of a Kafka topic name. */
function part(name: string): string {
  const safe = name.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (safe === name) return name;
  return `${safe}-${createHash('sha1').update(name).digest('hex').slice(0, 8)}`;
}

export const retryTopicOf = (group: string, topic: string): string =>
  `mqgate.retry.${part(group)}.${part(topic)}`;
export const dlqTopicOf = (group: string): string => `mqgate.dlq.${part(group)}`;
/** A gateway's commit marks (commit-marks.ts), by its transactional id. */
export const commitMarksTopicOf = (transactionalId: string): string =>
  `mqgate.tx-commits.${part(transactionalId)}`;
