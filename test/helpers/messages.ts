import type { StoredMessage } from '../../src/message/message.js';

/** A stored message for filter and broker tests: zeros everywhere but what is given. */
export function storedMessage(fields: Partial<StoredMessage> = {}): StoredMessage {
  return {
    msgId: '0'.repeat(32),
    topic: 't',
    queueId: 0,
    queueOffset: 0,
    commitLogOffset: 0,
    storeSize: 0,
    tag: undefined,
    keys: [],
    properties: {},
    body: Buffer.alloc(0),
    bornTimestamp: 0,
    storeTimestamp: 0,
    flag: 0,
    sysFlag: 0,
    reconsumeTimes: 0,
    preparedTransactionOffset: 0,
    ...fields,
  };
}
