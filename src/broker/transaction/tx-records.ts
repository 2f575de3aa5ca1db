import type { MessageInput } from '../../message/message.js';
import { SysFlag } from '../../message/message.js';
import type { WrittenMessage } from '../moved-message.js';
import { movedMessage } from '../moved-message.js';
import { placed, withProps, withoutProps } from '../../message/props.js';
import { TRANS_CHECK_MAX_TIME_TOPIC, TRANS_HALF_TOPIC, TRANS_OP_HALF_TOPIC } from '../system-topics.js';

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
  return placed(m, {
    topic: TRANS_HALF_TOPIC,
    queueId: 0,
    sysFlag: ((m.sysFlag ?? 0) & ~SysFlag.TRANSACTION_MASK) | SysFlag.TRANSACTION_PREPARED_TYPE,
    properties: withProps(m.properties, {
      [TxProp.REAL_TOPIC]: m.topic,
      [TxProp.REAL_QID]: String(m.queueId),
      [TxProp.PRODUCER_GROUP]: producerGroup,
      [TxProp.TRANSACTION_PREPARED]: 'true',
    }),
  });
}

/** An op record (topic RMQ_SYS_TRANS_OP_HALF_TOPIC, tag `d`, as RocketMQ writes them). */
export function opRecord(half: WrittenMessage, op: TxOp, checkTimes = 0): MessageInput {
  return {
    topic: TRANS_OP_HALF_TOPIC,
    queueId: 0,
    tag: 'd',
    body: String(half.queueOffset),
    properties: {
      [TxProp.OP]: op,
      [TxProp.HALF_OFFSET]: String(half.queueOffset),
      [TxProp.CHECK_TIMES]: String(checkTimes),
    },
  };
}

const HALF_ONLY: readonly string[] = [TxProp.TRANSACTION_PREPARED, TxProp.CHECK_TIMES];

/** The real message a commit writes (same msgId; sysFlag says committed). */
export function committedMessage(half: WrittenMessage): MessageInput {
  return movedMessage(half, {
    topic: half.properties[TxProp.REAL_TOPIC] ?? half.topic,
    queueId: Number(half.properties[TxProp.REAL_QID] ?? 0),
    properties: withoutProps(half.properties, HALF_ONLY),
    sysFlag: (half.sysFlag & ~SysFlag.TRANSACTION_MASK) | SysFlag.TRANSACTION_COMMIT_TYPE,
  });
}

/** A half message checked too often, kept in TRANS_CHECK_MAX_TIME_TOPIC for inspection. */
export function discardedMessage(half: WrittenMessage, checkTimes: number): MessageInput {
  return movedMessage(half, {
    topic: TRANS_CHECK_MAX_TIME_TOPIC,
    queueId: 0,
    properties: withProps(half.properties, { [TxProp.CHECK_TIMES]: String(checkTimes) }),
  });
}
