/**
 * Seek on topics kept in RabbitMQ streams: read a queue by offset, the queues' offsets, a
 * group's committed offsets (which mqgate keeps for it) with lag, commit and reset (to FIRST,
 * LAST or the first message born at or after a time). A move restarts the group's readers.
 */
import type { OffsetTarget, QueueOffset } from '../../src/broker/index.js';
import { MqgateError } from '../../src/errors.js';
import type { GetMessageResult } from '../../src/store/status.js';
import type { GroupPositions } from '../shared/group-positions.js';
import type { Extras } from '../spi.js';
import type { RabbitConnection } from './connection.js';
import type { StreamConsumer } from './stream-consumer.js';
import { offsetAtTime, readStream, streamBounds } from './stream-reads.js';
import { streamQueue } from './topology.js';

export interface StreamSeekSource {
  readonly conn: RabbitConnection;
  readonly positions: GroupPositions;
  queues(topic: string): number;
  readers(group: string, topic: string): StreamConsumer[];
}

type Bounds = { queueId: number; minOffset: number; maxOffset: number };

export function streamSeek(src: StreamSeekSource): NonNullable<Extras['seek']> {
  const model = () => src.conn.model();
  const bounds = (topic: string): Promise<Bounds[]> =>
    Promise.all(
      Array.from({ length: src.queues(topic) }, async (_, queueId) => ({
        queueId,
        ...(await streamBounds(model(), topic, streamQueue(topic, queueId))),
      })),
    );

  async function offsets(group: string, topic: string): Promise<QueueOffset[]> {
    const inflight = src.readers(group, topic).reduce((n, r) => n + r.unsettled, 0);
    return (await bounds(topic)).map((b) => {
      const offset = src.positions.get(group, topic, b.queueId) ?? b.maxOffset;
      return {
        ...b,
        offset,
        lag: Math.max(0, b.maxOffset - offset),
        inflight: b.queueId === 0 ? inflight : 0,
      };
    });
  }

  function move(group: string, topic: string, queueId: number, offset: number): void {
    src.positions.set(group, topic, queueId, offset);
  }

  function restart(group: string, topic: string): void {
    src.positions.save();
    for (const r of src.readers(group, topic)) r.restart();
  }

  return {
    async pull(topic, queueId, offset, max): Promise<GetMessageResult> {
      const queue = streamQueue(topic, queueId);
      const b = await streamBounds(model(), topic, queue);
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
      const messages = (await readStream(model(), topic, queue, { offset }, max)).filter(
        (m) => m.queueOffset >= offset,
      );
      const next = (messages.at(-1)?.queueOffset ?? offset - 1) + 1;
      return {
        ...base,
        status: messages.length > 0 ? 'FOUND' : 'NO_MESSAGE_IN_QUEUE',
        messages,
        nextBeginOffset: next,
      };
    },
    queueOffsets: bounds,
    offsetAt: (topic, queueId, time) => offsetAtTime(model(), topic, streamQueue(topic, queueId), time),
    offsets,
    async commitOffset(group, topic, queueId, offset) {
      const b = (await bounds(topic))[queueId];
      if (b === undefined || !Number.isSafeInteger(offset) || offset < b.minOffset || offset > b.maxOffset)
        throw new MqgateError(
          'MQ_ERR_OFFSET_INVALID',
          `queue ${queueId} holds offsets ${b?.minOffset ?? 0}..${b?.maxOffset ?? 0}, not ${offset}`,
        );
      move(group, topic, queueId, offset);
      restart(group, topic);
    },
    async resetOffsets(group, topic, to: OffsetTarget) {
      for (const b of await bounds(topic)) {
        const offset =
          to === 'FIRST'
            ? b.minOffset
            : to === 'LAST'
              ? b.maxOffset
              : await offsetAtTime(model(), topic, streamQueue(topic, b.queueId), to);
        move(group, topic, b.queueId, offset);
      }
      restart(group, topic);
    },
  };
}
