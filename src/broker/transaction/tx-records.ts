import type { MessageInput, StoredMessage } from '../../message/message.js';
import { SysFlag } from '../../message/message.js';
import type { WrittenMessage } from '../moved-message.js';
import { movedMessage } from '../moved-message.js';
import { placed, withProps, withoutProps } from '../../message/props.js';
import { TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../system-topics.js';

/**
 * A half message as the transaction service keeps it: a body of bytes is not kept (it is read
 * again from the log at commit: from memory when recent), text is.
 */
export type HalfMessage = Omit<WrittenMessage, 'body'> & { readonly body: Uint8Array | string | undefined };

/** Properties of half messages and op records (RocketMQ's MessageConst names where it has them). */
export const TxProp = {
  REAL_TOPIC: 'REAL_TOPIC',
  REAL_QID: 'REAL_QID',
  PRODUCER_GROUP: 'PGROUP',
  TRANSACTION_PREPARED: 'TRAN_MSG',
  /** On an op record: what happened to the half message (see TxOp). */
  OP: '__TX_OP',
  /** On an op record: the half message's queue offset. */
  HALF_OFFSET: '__TX_HALF_OFFSET',
  /** On an op record of a check: how many checks so far. */
  CHECK_TIMES: 'TRANSACTION_CHECK_TIMES',
  /** On a committed message: its half message's queue offset (RocketMQ's name). */
  PREPARED_QUEUE_OFFSET: 'TRAN_PREPARED_QUEUE_OFFSET',
} as const;

/** What an op record says about a half message. */
export const TxOp = {
  COMMIT: 'COMMIT',
  ROLLBACK: 'ROLLBACK',
  /** A check-back answered UNKNOW or failed: the count goes up, the message stays pending. */
  CHECKED: 'CHECKED',
  /** Checked transactionCheckMax times: moved to TRANS_CHECK_MAX_TIME_TOPIC. */
  DISCARDED: 'DISCARDED',
} as const;
export type TxOp = (typeof TxOp)[keyof typeof TxOp];

/** The half message for a prepared send: stored, but in no consumer's topic. */
export function halfRecord(m: MessageInput, producerGroup: string): MessageInput {
  // stores under constant names, not a literal with computed keys merged in (several times slower)
  const properties = withProps(m.properties);
  properties[TxProp.REAL_TOPIC] = m.topic;
  properties[TxProp.REAL_QID] = String(m.queueId);
  properties[TxProp.PRODUCER_GROUP] = producerGroup;
  properties[TxProp.TRANSACTION_PREPARED] = 'true';
  return placed(m, {
    topic: TRANS_HALF_TOPIC,
    queueId: 0,
    sysFlag: ((m.sysFlag ?? 0) & ~SysFlag.TRANSACTION_MASK) | SysFlag.TRANSACTION_PREPARED_TYPE,
    properties,
  });
}

/** An op record (topic RMQ_SYS_TRANS_OP_HALF_TOPIC, tag `d`, as RocketMQ writes them). */
export function opRecord(half: HalfMessage, op: TxOp, checkTimes = 0): MessageInput {
  // every field, in the order of MessageInput (see storeInput in message.ts)
  return {
    topic: TRANS_OP_HALF_TOPIC,
    queueId: 0,
    body: String(half.queueOffset),
    tag: 'd',
    keys: undefined,
    properties: {
      [TxProp.OP]: op,
      [TxProp.HALF_OFFSET]: String(half.queueOffset),
      [TxProp.CHECK_TIMES]: String(checkTimes),
    },
    msgId: undefined,
    bornTimestamp: undefined,
    flag: undefined,
    sysFlag: undefined,
    reconsumeTimes: undefined,
    preparedTransactionOffset: undefined,
    dispatchAlso: undefined,
    msgIdFrom: undefined,
  };
}

/** Properties of the half message a committed message drops (RocketMQ clears the same). */
const HALF_ONLY: readonly string[] = [
  TxProp.REAL_TOPIC,
  TxProp.REAL_QID,
  TxProp.TRANSACTION_PREPARED,
  TxProp.CHECK_TIMES,
];

/**
 * The real message a commit writes (same msgId; sysFlag says committed). It is its own op
 * record: the store gives the one record a second entry in RMQ_SYS_TRANS_OP_HALF_TOPIC, and
 * TRAN_PREPARED_QUEUE_OFFSET says which half message it resolves. One write where RocketMQ makes
 * two (the message, then the op record), and nothing between them to tear. `record`: the half
 * message's record while it is in memory, whose id bytes are copied (no decoding of the text).
 */
export function committedMessage(
  half: HalfMessage,
  body: Uint8Array | string,
  record?: Uint8Array,
): MessageInput {
  const properties = withoutProps(half.properties, HALF_ONLY);
  properties[TxProp.PREPARED_QUEUE_OFFSET] = String(half.queueOffset);
  return movedMessage(half, {
    body,
    topic: half.properties[TxProp.REAL_TOPIC] ?? half.topic,
    queueId: Number(half.properties[TxProp.REAL_QID] ?? 0),
    properties,
    sysFlag: (half.sysFlag & ~SysFlag.TRANSACTION_MASK) | SysFlag.TRANSACTION_COMMIT_TYPE,
    preparedTransactionOffset: half.commitLogOffset,
    dispatchAlso: TRANS_OP_HALF_TOPIC,
    msgIdFrom: record,
  });
}

/** What a record read from RMQ_SYS_TRANS_OP_HALF_TOPIC says: which half message, and its fate. */
export function readOp(m: StoredMessage): { half: number; op: TxOp; checkTimes: number } | undefined {
  if (m.topic !== TRANS_OP_HALF_TOPIC) {
    // a committed message, there through its second queue entry
    const half = Number(m.properties[TxProp.PREPARED_QUEUE_OFFSET]);
    return Number.isSafeInteger(half) ? { half, op: 'COMMIT', checkTimes: 0 } : undefined;
  }
  const half = Number(m.properties[TxProp.HALF_OFFSET]);
  const op = m.properties[TxProp.OP] as TxOp | undefined;
  if (!Number.isSafeInteger(half) || op === undefined || !(op in TxOp)) return undefined;
  return { half, op, checkTimes: Number(m.properties[TxProp.CHECK_TIMES] ?? 0) };
}

/** A half message checked too often, kept in TRANS_CHECK_MAX_TIME_TOPIC for inspection. */
export function discardedMessage(
  half: HalfMessage,
  body: Uint8Array | string,
  checkTimes: number,
): MessageInput {
  return movedMessage(half, {
    body,
    topic: TRANS_CHECK_MAX_TIME_TOPIC,
    queueId: 0,
    properties: withProps(half.properties, { [TxProp.CHECK_TIMES]: String(checkTimes) }),
  });
}
