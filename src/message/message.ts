/**
 * The message model shared by the store, the broker core and the adapters.
 *
 * A message belongs to one topic and, once stored, to one queue of it. It carries at most one
 * tag (filtered by hash, then by string), any number of keys (indexed as `topic#key`), string
 * properties (used by SQL92 filters and by the system: delay, transaction, retry bookkeeping)
 * and a body of bytes.
 */

/** Bits of `sysFlag`, in the spirit of RocketMQ's MessageSysFlag. */
export const SysFlag = {
  /** The body is compressed (reserved: the store never compresses by itself). */
  COMPRESSED: 0x1,
  /** Transaction state, two bits: none, prepared (half), commit, rollback. */
  TRANSACTION_MASK: 0xc,
  TRANSACTION_NOT_TYPE: 0x0,
  TRANSACTION_PREPARED_TYPE: 0x4,
  TRANSACTION_COMMIT_TYPE: 0x8,
  TRANSACTION_ROLLBACK_TYPE: 0xc,
  /** Delivery is delayed by a level or held until a time (see the scheduler). */
  DELAY: 0x10,
  /**
   * The record has a second ConsumeQueue entry, in the queue 0 of the topic its
   * INNER_MULTI_DISPATCH property names, at the offset INNER_MULTI_QUEUE_OFFSET says (RocketMQ's
   * multi-dispatch, used there for light message queues). Set by the store.
   */
  MULTI_DISPATCH: 0x20,
} as const;

/** Properties the store writes on a record with a second queue entry (see SysFlag.MULTI_DISPATCH). */
export const MultiDispatchProp = {
  TOPIC: 'INNER_MULTI_DISPATCH',
  QUEUE_OFFSET: 'INNER_MULTI_QUEUE_OFFSET',
} as const;

/**
 * What a producer hands to the store. Absent fields get defaults when stored.
 *
 * The core makes these objects with every field, in this order (`undefined` where absent): the
 * store's encoder then sees one object shape and its property reads stay monomorphic. Objects
 * of three shapes (a send, a half message, a commit) made its encoding of a send about twice as
 * slow (0.48 µs against 0.9–1.0 µs for a 1 KiB message).
 */
export interface MessageInput {
  readonly topic: string;
  readonly queueId: number;
  /** Bytes, or text stored as its UTF-8 bytes (written straight into the log, no Buffer made for it). */
  readonly body: Uint8Array | string;
  readonly tag?: string | undefined;
  readonly keys?: readonly string[] | undefined;
  readonly properties?: Readonly<Record<string, string>> | undefined;
  /** Kept when given (e.g. a message migrated from another backend); made fresh otherwise. */
  readonly msgId?: string | undefined;
  readonly bornTimestamp?: number | undefined;
  readonly flag?: number | undefined;
  readonly sysFlag?: number | undefined;
  readonly reconsumeTimes?: number | undefined;
  readonly preparedTransactionOffset?: number | undefined;
  /**
   * A second queue for the same record: queue 0 of this (system) topic gets an entry too, at the
   * offset the store assigns. One write in two queues (see SysFlag.MULTI_DISPATCH).
   */
  readonly dispatchAlso?: string | undefined;
  /**
   * A stored record (a view from its first byte) whose msgId this message keeps, as a commit
   * keeps its half message's: the id's bytes are copied from it, not decoded from `msgId`, which
   * is then that record's id (or undefined).
   */
  readonly msgIdFrom?: Uint8Array | undefined;
}

/** A message as read back from the store. */
export interface StoredMessage {
  readonly msgId: string;
  readonly topic: string;
  readonly queueId: number;
  readonly queueOffset: number;
  /** Position of the record in the CommitLog. */
  readonly commitLogOffset: number;
  /** Size of the whole record in the CommitLog. */
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
}

/** RocketMQ's topic name rule (`TopicValidator`): letters, digits, `%`, `|`, `_`, `-`; at most 127. */
export const TOPIC_MAX_LENGTH = 127;
const TOPIC_PATTERN = /^[%|a-zA-Z0-9_-]+$/;

/** Returns why a topic name is not valid, or undefined if it is. */
export function topicNameProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'the topic name is empty';
  if (topic.length > TOPIC_MAX_LENGTH)
    return `the topic name has ${topic.length} characters, at most ${TOPIC_MAX_LENGTH} are allowed`;
  if (!TOPIC_PATTERN.test(topic))
    return `the topic name "${topic}" may only contain letters, digits, '%', '|', '_' and '-'`;
  return undefined;
}
