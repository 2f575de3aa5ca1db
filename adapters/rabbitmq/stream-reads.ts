/**
 * Reads of RabbitMQ stream queues by offset, over AMQP 0-9-1 (a consumer with `x-stream-offset`
 * on a channel of its own, cancelled once it has what it came for): a page of messages, the
 * first and the next offset of a stream, the offset of the first message born at or after a
 * time. AMQP gives no offsets without reading, so each read waits a short idle time to learn
 * that nothing more is there.
 *
 * Offsets go out typed (`long`, `timestamp`): RabbitMQ 3.10 fails the whole connection with
 * INTERNAL_ERROR on an offset value of another type.
 */
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { StoredMessage } from '../../src/message/message.js';
import { decode } from './codec.js';

/** Where a stream read starts. */
export type StreamStart = 'first' | 'last' | 'next' | { offset: number } | { time: number };

/** How long a read waits for one more message before it takes the stream as read to its end. */
export const IDLE_MS = 200;

export function startArgument(s: StreamStart): unknown {
  if (typeof s === 'string') return s;
  if ('offset' in s) return { '!': 'long', value: s.offset };
  return { '!': 'timestamp', value: Math.floor(s.time / 1000) };
}

/** The stream offset RabbitMQ stamps on a delivery. */
export function streamOffset(msg: ConsumeMessage): number {
  const v = (msg.properties.headers as Record<string, unknown> | undefined)?.['x-stream-offset'];
  return typeof v === 'number' ? v : Number(v ?? -1);
}

/**
 * Up to `max` messages of a stream from `start`, in offset order; `stop` ends the read early
 * at a message it answers true for (that message not included).
 */
export async function readStream(
  model: ChannelModel,
  topic: string,
  queue: string,
  start: StreamStart,
  max: number,
  stop: (m: StoredMessage) => boolean = () => false,
): Promise<StoredMessage[]> {
  const ch = await model.createChannel();
  ch.on('error', () => {}); // a missing stream closes the channel: nothing to read
  const got: StoredMessage[] = [];
  try {
    await ch.prefetch(Math.min(Math.max(1, max), 1000));
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (): void => {
        done = true;
        resolve();
      };
      let idle = setTimeout(finish, IDLE_MS * 2);
      ch.on('close', finish);
      ch.consume(
        queue,
        (msg) => {
          if (msg === null) return finish();
          ch.ack(msg);
          if (done) return;
          const m = decode(topic, msg, streamOffset(msg));
          if (stop(m)) return finish();
          got.push(m);
          clearTimeout(idle);
          idle = setTimeout(finish, got.length >= max ? 0 : IDLE_MS);
        },
        { noAck: false, arguments: { 'x-stream-offset': startArgument(start) } },
      ).catch(reject);
    });
  } catch {
    return got;
  } finally {
    await ch.close().catch(() => {});
  }
  return got;
}

/** The first offset a stream still holds, and the offset its next message will get. */
export async function streamBounds(
  model: ChannelModel,
  topic: string,
  queue: string,
): Promise<{ minOffset: number; maxOffset: number }> {
  const [first] = await readStream(model, topic, queue, 'first', 1);
  if (first === undefined) return { minOffset: 0, maxOffset: 0 };
  // `last` starts at the last chunk: read it to its end
  const last = await readStream(model, topic, queue, 'last', Number.MAX_SAFE_INTEGER);
  const end = last.at(-1)?.queueOffset ?? first.queueOffset;
  return { minOffset: first.queueOffset, maxOffset: end + 1 };
}

/** The offset of the first message born at or after `time` (the next offset when none is). */
export async function offsetAtTime(
  model: ChannelModel,
  topic: string,
  queue: string,
  time: number,
): Promise<number> {
  // a timestamp start lands on a chunk, which may begin earlier: skip to the first born at or after it
  let found: number | undefined;
  await readStream(model, topic, queue, { time }, Number.MAX_SAFE_INTEGER, (m) => {
    if (m.bornTimestamp < time) return false;
    found = m.queueOffset;
    return true;
  });
  return found ?? (await streamBounds(model, topic, queue)).maxOffset;
}
