/**
 * What a take asks for and what it hands out (the consumption engine's types, apart from it to
 * keep the engine's file short).
 */
import type { StoredMessage } from '../../message/message.js';
import type { MessageFilter } from '../../store/index.js';
import type { GroupConfig } from '../group-registry.js';
import type { CursorKey } from './queue-cursor.js';

/** A message handed to a consumer. */
export interface ReceivedMessage extends StoredMessage {
  /** 1 on the first delivery; reconsumeTimes + 1 after retries. */
  readonly deliveryAttempt: number;
  /** Acks, nacks or changes the invisible time of this delivery (and no other). */
  readonly receiptHandle: string;
  /** Until when no one else gets this message (ms since the epoch). */
  readonly invisibleUntil: number;
  /** The topic the message is stored in: `%RETRY%{group}` for a retry, else `topic`. */
  readonly storeTopic: string;
}

export interface TakeOptions {
  readonly group: GroupConfig;
  /** Broadcasting: the consumer client; '' for clustering. */
  readonly client: string;
  readonly topic: string;
  /** The topic's queues to take from. */
  readonly queueIds: readonly number[];
  /** Also take the topic's retries from the group's retry topic. */
  readonly retry: boolean;
  /** `keysFor` of these options, when the caller keeps them between takes (saves making them). */
  readonly keys?: readonly CursorKey[] | undefined;
  readonly filter?: MessageFilter | undefined;
  readonly max: number;
  readonly invisibleMs: number;
  /** The push subscription taking, if any (its messages are released when it leaves). */
  readonly owner?: string | undefined;
  /**
   * Filled with what each handle says, three numbers a message in the order of the messages:
   * cursor number, offset, version (saves parsing on ack, without an object per message).
   */
  readonly refs?: number[] | undefined;
}

/** A stored message as handed out: one literal shape for every delivery (a spread would make each a dictionary). */
export function received(
  m: StoredMessage,
  topic: string,
  redeliveries: number,
  receiptHandle: string,
  invisibleUntil: number,
): ReceivedMessage {
  return {
    msgId: m.msgId,
    topic,
    queueId: m.queueId,
    queueOffset: m.queueOffset,
    commitLogOffset: m.commitLogOffset,
    storeSize: m.storeSize,
    tag: m.tag,
    keys: m.keys,
    properties: m.properties,
    body: m.body,
    bornTimestamp: m.bornTimestamp,
    storeTimestamp: m.storeTimestamp,
    flag: m.flag,
    sysFlag: m.sysFlag,
    reconsumeTimes: m.reconsumeTimes,
    preparedTransactionOffset: m.preparedTransactionOffset,
    storeTopic: m.topic,
    deliveryAttempt: m.reconsumeTimes + redeliveries + 1,
    receiptHandle,
    invisibleUntil,
  };
}
