/**
 * Where a group starts on a topic it has never consumed: mqgate's FIRST, LAST or a time. Kafka
 * applies `auto.offset.reset` only once the consumer has joined, so "the end" would be the end
 * at some moment after the first receive, and a message sent meanwhile would be skipped. Instead,
 * before the group's first consumer joins, its offsets are committed through the admin API:
 * LAST at each partition's end now, a time at the first record born at or after it. FIRST needs
 * nothing (the consumer starts a partition without an offset at its beginning), and neither does
 * a group that has an offset on any partition of the topic (a partition added later starts at
 * its beginning: all it holds is newer than the group).
 */
import type { Admin } from 'kafkajs';
import type { OffsetTarget } from '../../src/broker/index.js';
import { protocolType } from './kafka-errors.js';

/** Commits the start offsets of a group new to `topic`; a group with live members is left alone. */
export async function pinStart(
  admin: Admin,
  group: string,
  topic: string,
  from: OffsetTarget | undefined,
): Promise<void> {
  if (from === undefined || from === 'FIRST') return;
  const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  if ((committed?.partitions ?? []).some((p) => Number(p.offset) >= 0)) return;
  const targets =
    from === 'LAST'
      ? (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, offset: p.high }))
      : await admin.fetchTopicOffsetsByTimestamp(topic, from);
  try {
    await admin.setOffsets({ groupId: group, topic, partitions: targets });
  } catch (err) {
    // another gateway's consumer joined first: it pinned the start itself
    if (!isGroupBusy(err)) throw err;
  }
}

/** kafkajs refuses to set the offsets of a group that has members. */
export function isGroupBusy(err: unknown): boolean {
  return (
    protocolType(err) === 'UNKNOWN_MEMBER_ID' ||
    (err instanceof Error && /must have no running instances/i.test(err.message))
  );
}
