import { MqgateError } from '../errors.js';
import type { MessageInput } from '../message/message.js';
import type { PutMessageResult } from '../store/index.js';
import { Prop } from './system-topics.js';
import { withProps } from '../message/props.js';

/** A message as a producer gives it to the broker core. */
export interface SendInput {
  readonly body: Uint8Array | string;
  /** At most one tag, as in RocketMQ. */
  readonly tag?: string | undefined;
  /** Indexed: query by key. */
  readonly keys?: readonly string[] | undefined;
  readonly properties?: Readonly<Record<string, string>> | undefined;
  /** Ordered: the same key goes to the same queue, in order. */
  readonly shardingKey?: string | undefined;
  /** An explicit queue (takes precedence over the sharding key). */
  readonly queueId?: number | undefined;
  /** Kept when given (a migrated message); made fresh otherwise. */
  readonly msgId?: string | undefined;
  readonly bornTimestamp?: number | undefined;
  /** Deliver after this delay level (1..N; above N is N, as RocketMQ clamps). Wins over deliverAt. */
  readonly delayLevel?: number | undefined;
  /** Deliver at this time (ms since the epoch); a time past delivers at once. */
  readonly deliverAt?: number | undefined;
}

/** RocketMQ's SendStatus. */
export const SendStatus = {
  SEND_OK: 'SEND_OK',
  FLUSH_DISK_TIMEOUT: 'FLUSH_DISK_TIMEOUT',
} as const;
export type SendStatus = (typeof SendStatus)[keyof typeof SendStatus];

export interface SendResult {
  readonly status: SendStatus;
  readonly msgId: string;
  readonly topic: string;
  readonly queueId: number;
  /** The message's offset in its queue; -1 while it waits in the scheduler (see deliverAt). */
  readonly queueOffset: number;
  /** For a delayed or timed message: when it is due in its topic (ms since the epoch). */
  readonly deliverAt?: number;
}

/** The store message for a send to `topic`/`queueId`. */
export function toStoreInput(topic: string, queueId: number, m: SendInput): MessageInput {
  const properties =
    m.shardingKey === undefined
      ? m.properties
      : withProps(m.properties, { [Prop.SHARDING_KEY]: m.shardingKey });
  // every field, in the order of MessageInput (see storeInput in message.ts)
  return {
    topic,
    queueId,
    body: m.body,
    tag: m.tag,
    keys: m.keys,
    properties,
    msgId: m.msgId,
    bornTimestamp: m.bornTimestamp,
    flag: undefined,
    sysFlag: undefined,
    reconsumeTimes: undefined,
    preparedTransactionOffset: undefined,
    dispatchAlso: undefined,
    msgIdFrom: undefined,
  };
}

/**
 * A store outcome as a send result; refusals become errors from the catalogue.
 *
 * @throws MqgateError `MQ_ERR_MESSAGE_ILLEGAL`, `MQ_ERR_STORE_CLOSED`, `MQ_ERR_STORE_IO`
 */
export function toSendResult(topic: string, r: PutMessageResult): SendResult {
  switch (r.status) {
    case 'PUT_OK':
    case 'FLUSH_DISK_TIMEOUT':
      return {
        status: r.status === 'PUT_OK' ? SendStatus.SEND_OK : SendStatus.FLUSH_DISK_TIMEOUT,
        msgId: r.msgId ?? '',
        topic,
        queueId: r.queueId ?? 0,
        queueOffset: r.queueOffset ?? 0,
      };
    default:
      throw sendError(r);
  }
}

/** The error of a store outcome that is not a write (a refusal, a failed write). */
export function sendError(r: PutMessageResult): MqgateError {
  switch (r.status) {
    case 'MESSAGE_ILLEGAL':
    case 'PROPERTIES_SIZE_EXCEEDED':
      return new MqgateError('MQ_ERR_MESSAGE_ILLEGAL', r.reason ?? r.status);
    case 'SERVICE_NOT_AVAILABLE':
      return new MqgateError('MQ_ERR_STORE_CLOSED', r.reason ?? 'the store is closed');
    default:
      return new MqgateError('MQ_ERR_STORE_IO', r.reason ?? r.status);
  }
}
