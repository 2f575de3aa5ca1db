/**
 * What a take asks for and what it hands out (the consumption engine's types, apart from it to
 * keep the engine's file short).
 */
import type { StoredMessage } from '../../message/message.js';
import type { MessageFilter } from '../../store/index.js';
import type { GroupConfig } from '../group-registry.js';
import type { CursorKey } from './queue-cursor.js';
import type { ReceiptHandles } from './receipt-handle.js';

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

/**
 * A stored message as handed out. A class of one shape for every delivery (a spread would make
 * each a dictionary); the receipt handle's text is made when first read, as a consumer that
 * settles through its delivery object never needs it.
 */
export class Received implements ReceivedMessage {
  readonly msgId: string;
  readonly topic: string;
  readonly queueId: number;
  readonly queueOffset: number;
  readonly commitLogOffset: number;
  readonly storeSize: number;
  readonly tag: string | undefined;
  readonly keys: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly bornTimestamp: number;
  readonly storeTimestamp: number;
  readonly flag: number;
  readonly sysFlag: number;
  readonly reconsumeTimes: number;
  readonly preparedTransactionOffset: number;
  readonly storeTopic: string;
  readonly deliveryAttempt: number;
  readonly invisibleUntil: number;
  readonly #handles: ReceiptHandles;
  readonly #cursor: number;
  readonly #version: number;
  #handle: string | undefined;

  constructor(
    m: StoredMessage,
    topic: string,
    redeliveries: number,
    handles: ReceiptHandles,
    cursor: number,
    version: number,
    invisibleUntil: number,
  ) {
    this.msgId = m.msgId;
    this.topic = topic;
    this.queueId = m.queueId;
    this.queueOffset = m.queueOffset;
    this.commitLogOffset = m.commitLogOffset;
    this.storeSize = m.storeSize;
    this.tag = m.tag;
    this.keys = m.keys;
    this.properties = m.properties;
    this.body = m.body;
    this.bornTimestamp = m.bornTimestamp;
    this.storeTimestamp = m.storeTimestamp;
    this.flag = m.flag;
    this.sysFlag = m.sysFlag;
    this.reconsumeTimes = m.reconsumeTimes;
    this.preparedTransactionOffset = m.preparedTransactionOffset;
    this.storeTopic = m.topic;
    this.deliveryAttempt = m.reconsumeTimes + redeliveries + 1;
    this.invisibleUntil = invisibleUntil;
    this.#handles = handles;
    this.#cursor = cursor;
    this.#version = version;
    this.#handle = undefined;
  }

  get receiptHandle(): string {
    return (this.#handle ??= this.#handles.encodeParts(this.#cursor, this.queueOffset, this.#version));
  }

  /** The handle as an own field in JSON, as when it was a plain object. */
  toJSON(): object {
    return { ...this, receiptHandle: this.receiptHandle };
  }
}
