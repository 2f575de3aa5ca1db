import type { MessageInput, StoredMessage } from '../message/message.js';

/** A stored message, or one just written whose body is still the sender's (text or bytes). */
export type WrittenMessage = Omit<StoredMessage, 'body'> & { readonly body: Uint8Array | string };

/**
 * A stored message written again elsewhere by the core (due from the scheduler, committed,
 * retried, dead-lettered): body, tag, keys, msgId and born time travel with it; the caller says
 * where it goes and what its properties are now.
 */
export function movedMessage(
  m: Omit<WrittenMessage, 'body'> & { readonly body: Uint8Array | string | undefined },
  to: {
    /** The body, when `m` does not carry it. */
    body?: Uint8Array | string;
    topic: string;
    queueId: number;
    properties: Record<string, string>;
    sysFlag?: number;
    reconsumeTimes?: number;
    preparedTransactionOffset?: number;
    dispatchAlso?: string;
    /** The record `m` was read from, when still in memory (its id is copied from there). */
    msgIdFrom?: Uint8Array | undefined;
  },
): MessageInput {
  // every field, in the order of MessageInput (see storeInput in message.ts)
  return {
    topic: to.topic,
    queueId: to.queueId,
    body: to.body ?? m.body ?? '',
    tag: m.tag,
    keys: m.keys,
    properties: to.properties,
    msgId: m.msgId,
    bornTimestamp: m.bornTimestamp,
    flag: m.flag,
    sysFlag: to.sysFlag ?? m.sysFlag,
    reconsumeTimes: to.reconsumeTimes ?? m.reconsumeTimes,
    preparedTransactionOffset: to.preparedTransactionOffset,
    dispatchAlso: to.dispatchAlso,
    msgIdFrom: to.msgIdFrom,
  };
}
