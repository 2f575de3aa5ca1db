/**
 * The groups' dead letters on RabbitMQ: each group's `%DLQ%{group}` queue, written by the
 * adapter's nack past the retries and by RabbitMQ itself past a queue's delivery limit. A look
 * into it takes messages without acking them and closes its channel, which puts them back in
 * their places (a classic queue keeps their order); a resend publishes the message to its
 * topic again (every group gets it, as on the embedded log) and leaves the dead letter where it
 * is, as RocketMQ's DLQ topic keeps it.
 */
import type { Message } from 'amqplib';
import type { SendResult } from '../../src/broker/index.js';
import { Prop, SendStatus, deadLetterMessage, dlqTopic, resentMessage } from '../../src/broker/index.js';
import { MqgateError } from '../../src/errors.js';
import type { StoredMessage } from '../../src/message/message.js';
import { decode, encode, outbound } from './codec.js';
import type { RabbitConnection } from './connection.js';
import { TOPICS_EXCHANGE, dlqQueue, routingKey } from './topology.js';

/** Dead letters read in one look at most (a look holds them all unacked at once). */
const MAX_LOOK = 10_000;

export class DeadLetters {
  readonly #conn: RabbitConnection;

  constructor(conn: RabbitConnection) {
    this.#conn = conn;
  }

  /** Writes a failed message to its group's DLQ; resolves once RabbitMQ confirmed it. */
  write(group: string, m: StoredMessage): Promise<void> {
    const copy = deadLetterMessage(group, m);
    return this.#conn.publisher.publish(
      '',
      dlqQueue(group),
      encode({ ...outbound(m), properties: copy.properties ?? {} }, m.reconsumeTimes),
    );
  }

  async list(group: string, o: { offset?: number; max?: number }): Promise<StoredMessage[]> {
    const offset = o.offset ?? 0;
    const got = await this.#look(group, Math.min(MAX_LOOK, offset + (o.max ?? 32)));
    return got.slice(offset);
  }

  async resend(group: string, msgId: string): Promise<SendResult> {
    const m = (await this.#look(group, MAX_LOOK)).find((x) => x.msgId === msgId);
    if (m === undefined) throw new MqgateError('MQ_ERR_MSG_NOT_FOUND', `${msgId} in the DLQ of "${group}"`);
    const again = resentMessage(m, m.queueId);
    await this.#conn.publisher.publish(
      TOPICS_EXCHANGE,
      routingKey(again.topic, m.queueId, m.tag),
      encode({ ...outbound(m), properties: again.properties ?? {} }),
    );
    return { status: SendStatus.SEND_OK, msgId, topic: again.topic, queueId: m.queueId, queueOffset: -1 };
  }

  /** The first `max` dead letters of a group, left in the queue. */
  async #look(group: string, max: number): Promise<StoredMessage[]> {
    const ch = await this.#conn.model().createChannel();
    ch.on('error', () => {}); // a missing queue closes the channel: no dead letters
    const out: StoredMessage[] = [];
    try {
      await ch.checkQueue(dlqQueue(group));
      while (out.length < max) {
        const msg = await ch.get(dlqQueue(group), { noAck: false });
        if (msg === false) break;
        out.push(asDeadLetter(group, msg));
      }
    } catch {
      return out;
    } finally {
      await ch.close().catch(() => {});
    }
    return out;
  }
}

/** A dead letter as the DLQ topic of the embedded log shows it (RabbitMQ's own are given their origin). */
function asDeadLetter(group: string, msg: Message): StoredMessage {
  const m = decode(dlqTopic(group), msg);
  if (m.properties[Prop.DLQ_ORIGIN_TOPIC] !== undefined) return m;
  // dead-lettered by RabbitMQ past the delivery limit: the first routing key names the topic
  const death = (msg.properties.headers?.['x-death'] as { 'routing-keys'?: string[] }[] | undefined)?.[0];
  const topic = death?.['routing-keys']?.[0]?.split('.')[0];
  return topic === undefined ? m : { ...m, properties: { ...m.properties, [Prop.DLQ_ORIGIN_TOPIC]: topic } };
}
