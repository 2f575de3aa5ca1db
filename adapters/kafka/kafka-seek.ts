/**
 * Seek on Kafka, all native: read a partition by offset (topic-reader.ts), the partitions'
 * low and high watermarks, a group's committed offsets with lag (Kafka keeps them), commit and
 * reset (to FIRST, LAST or the first record born at or after a time, by Kafka's offsets by
 * timestamp). Kafka sets a group's offsets only while the group has no members: this gateway's
 * consumers of the group leave for the change and join again after it; a member elsewhere
 * (another gateway) makes the change fail with a clear error.
 */
import type { Admin } from 'kafkajs';
import type { OffsetTarget, QueueOffset } from '../../src/broker/index.js';
import { MqgateError } from '../../src/errors.js';
import type { GetMessageResult } from '../../src/store/status.js';
import type { Extras } from '../spi.js';
import type { GroupConsumer } from './group-consumer.js';
import { kafkaError } from './kafka-errors.js';
import { groupIdOf } from './names.js';
import type { Readers } from './readers.js';
import { isGroupBusy } from './start-position.js';

export interface KafkaSeekSource {
  readonly readers: Readers;
  readonly backend: string;
  /** Runs `fn` with the admin client (on a fresh one again when it went stale). */
  admin<T>(fn: (a: Admin) => Promise<T>): Promise<T>;
  /** This gateway's consumers of a group on a topic. */
  consumers(group: string, topic: string): GroupConsumer[];
}

type Bounds = { queueId: number; minOffset: number; maxOffset: number };
type Client = { clientId?: string };

export function kafkaSeek(src: KafkaSeekSource): NonNullable<Extras['seek']> {
  /** Runs `fn`, translating kafkajs errors. */
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw kafkaError(err, src.backend, what);
    }
  };
  const bounds = (topic: string): Promise<Bounds[]> =>
    call(`offsets of "${topic}"`, async () =>
      (await src.admin((a) => a.fetchTopicOffsets(topic)))
        .map((p) => ({ queueId: p.partition, minOffset: Number(p.low), maxOffset: Number(p.high) }))
        .sort((a, b) => a.queueId - b.queueId),
    );
  // a broadcasting consumer's offsets are its own group's (the core names it group%client)
  const groupOf = (group: string, o?: Client): string =>
    o?.clientId === undefined || o.clientId === '' ? group : `${group}%${o.clientId}`;

  const offsetAt = async (topic: string, time: number): Promise<Map<number, number>> =>
    new Map(
      (
        await call(`offsets of "${topic}" at ${time}`, () =>
          src.admin((a) => a.fetchTopicOffsetsByTimestamp(topic, time)),
        )
      ).map((p) => [p.partition, Number(p.offset)]),
    );

  /** Sets offsets with this gateway's consumers of the group out of it. */
  async function move(group: string, topic: string, partitions: { partition: number; offset: number }[]) {
    const readers = src.consumers(group, topic);
    await Promise.all(readers.map((r) => r.stop()));
    try {
      await src.admin((a) =>
        a.setOffsets({
          groupId: groupIdOf(group, topic),
          topic,
          partitions: partitions.map((p) => ({ partition: p.partition, offset: String(p.offset) })),
        }),
      );
    } catch (err) {
      if (isGroupBusy(err))
        throw new MqgateError(
          'MQ_ERR_BACKEND_REFUSED',
          `group "${group}" has consumers of "${topic}" on another gateway; Kafka moves a group's offsets only while it has none`,
          { cause: err },
        );
      throw kafkaError(err, src.backend, `set the offsets of "${group}"`);
    } finally {
      for (const r of readers) r.restart();
    }
  }

  return {
    async pull(topic, queueId, offset, max): Promise<GetMessageResult> {
      const b = (await bounds(topic)).find((x) => x.queueId === queueId) ?? {
        queueId,
        minOffset: 0,
        maxOffset: 0,
      };
      const base = { minOffset: b.minOffset, maxOffset: b.maxOffset, corrupted: [] };
      if (offset < b.minOffset)
        return { ...base, status: 'OFFSET_TOO_SMALL', messages: [], nextBeginOffset: b.minOffset };
      if (offset >= b.maxOffset)
        return {
          ...base,
          status: offset === b.maxOffset ? 'OFFSET_OVERFLOW_ONE' : 'OFFSET_OVERFLOW_BADLY',
          messages: [],
          nextBeginOffset: b.maxOffset,
        };
      const messages = await call(`read "${topic}" queue ${queueId}`, () =>
        src.readers.read(topic, queueId, offset, max, b.maxOffset),
      );
      return {
        ...base,
        status: messages.length > 0 ? 'FOUND' : 'NO_MESSAGE_IN_QUEUE',
        messages,
        nextBeginOffset: (messages.at(-1)?.queueOffset ?? offset - 1) + 1,
      };
    },

    queueOffsets: bounds,

    async offsetAt(topic, queueId, time) {
      return (await offsetAt(topic, time)).get(queueId) ?? 0;
    },

    async offsets(group, topic, o): Promise<QueueOffset[]> {
      const id = groupOf(group, o);
      const [b, committed] = await Promise.all([
        bounds(topic),
        call(`offsets of group "${id}"`, () =>
          src.admin((a) => a.fetchOffsets({ groupId: groupIdOf(id, topic), topics: [topic] })),
        ),
      ]);
      const byPartition = new Map(
        (committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]),
      );
      const inflight = src.consumers(id, topic).reduce((n, r) => n + r.unsettled, 0);
      return b.map((x) => {
        const c = byPartition.get(x.queueId) ?? -1;
        const offset = c >= 0 ? c : x.maxOffset;
        return {
          ...x,
          offset,
          lag: Math.max(0, x.maxOffset - offset),
          inflight: x.queueId === 0 ? inflight : 0,
        };
      });
    },

    async commitOffset(group, topic, queueId, offset, o) {
      const b = (await bounds(topic)).find((x) => x.queueId === queueId);
      if (b === undefined || !Number.isSafeInteger(offset) || offset < b.minOffset || offset > b.maxOffset)
        throw new MqgateError(
          'MQ_ERR_OFFSET_INVALID',
          `queue ${queueId} holds offsets ${b?.minOffset ?? 0}..${b?.maxOffset ?? 0}, not ${offset}`,
        );
      await move(groupOf(group, o), topic, [{ partition: queueId, offset }]);
    },

    async resetOffsets(group, topic, to: OffsetTarget, o) {
      const b = await bounds(topic);
      const at = typeof to === 'number' ? await offsetAt(topic, to) : undefined;
      await move(
        groupOf(group, o),
        topic,
        b.map((x) => ({
          partition: x.queueId,
          offset:
            to === 'FIRST' ? x.minOffset : to === 'LAST' ? x.maxOffset : (at?.get(x.queueId) ?? x.maxOffset),
        })),
      );
    },
  };
}
