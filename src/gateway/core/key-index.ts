/**
 * The core's key and msgId index for topics on backends that have none: at send, one small
 * record per message in a system topic of the gateway's log, carrying the message's msgId
 * (found through the log's msgId index), its keys as `{topic}#{key}` (found through the key
 * index), where it went (backend, topic, queue, offset), its tag and properties, and no body.
 * A query answers the message from the backend when it can read by offset (seek), else the
 * record's metadata with an empty body and `MQGATE_BODY` = `not-kept`.
 */
import type { OutboundMessage } from '../../../adapters/index.js';
import type { MessageInput, StoredMessage } from '../../message/message.js';
import { withProps, withoutProps } from '../../message/props.js';

export const KEY_INDEX_TOPIC = 'rmq_sys_mqgate_key_index';
const TOPIC = KEY_INDEX_TOPIC;

export const IndexProp = {
  BACKEND: '__MQGATE_IDX_BACKEND',
  TOPIC: '__MQGATE_IDX_TOPIC',
  QUEUE_ID: '__MQGATE_IDX_QID',
  QUEUE_OFFSET: '__MQGATE_IDX_QOFFSET',
  BODY: 'MQGATE_BODY',
} as const;

const OWN: readonly string[] = [
  IndexProp.BACKEND,
  IndexProp.TOPIC,
  IndexProp.QUEUE_ID,
  IndexProp.QUEUE_OFFSET,
];

/** The index record of a message sent to `topic` on `backend`. */
export function indexRecord(
  backend: string,
  topic: string,
  o: OutboundMessage,
  queueOffset: number,
): MessageInput {
  return {
    topic: TOPIC,
    queueId: 0,
    body: '',
    tag: o.tag,
    keys: o.keys.map((k) => `${topic}#${k}`),
    properties: withProps(o.properties, {
      [IndexProp.BACKEND]: backend,
      [IndexProp.TOPIC]: topic,
      [IndexProp.QUEUE_ID]: String(o.queueId),
      [IndexProp.QUEUE_OFFSET]: String(queueOffset),
    }),
    msgId: o.msgId,
    bornTimestamp: o.bornTimestamp,
    flag: undefined,
    sysFlag: undefined,
    reconsumeTimes: undefined,
    preparedTransactionOffset: undefined,
    dispatchAlso: undefined,
    msgIdFrom: undefined,
  };
}

/** Where an index record says its message is; undefined for any other record. */
export function indexedAt(
  r: StoredMessage,
): { backend: string; topic: string; queueId: number; queueOffset: number } | undefined {
  if (r.topic !== TOPIC) return undefined;
  return {
    backend: r.properties[IndexProp.BACKEND] ?? '',
    topic: r.properties[IndexProp.TOPIC] ?? '',
    queueId: Number(r.properties[IndexProp.QUEUE_ID]),
    queueOffset: Number(r.properties[IndexProp.QUEUE_OFFSET]),
  };
}

/** The message an index record stands for, without its body (the backend has it). */
export function metadataOf(r: StoredMessage): StoredMessage {
  const at = indexedAt(r);
  const prefix = `${at?.topic ?? ''}#`;
  return {
    ...r,
    topic: at?.topic ?? r.topic,
    queueId: at?.queueId ?? 0,
    queueOffset: at?.queueOffset ?? -1,
    keys: r.keys.map((k) => (k.startsWith(prefix) ? k.slice(prefix.length) : k)),
    properties: { ...withoutProps(r.properties, OWN), [IndexProp.BODY]: 'not-kept' },
    body: Buffer.alloc(0),
  };
}

/** The key query of `topic`/`key` in the index topic. */
export function indexKey(topic: string, key: string): { topic: string; key: string } {
  return { topic: TOPIC, key: `${topic}#${key}` };
}
