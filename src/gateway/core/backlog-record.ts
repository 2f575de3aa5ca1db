/**
 * The records of the store-and-forward backlog: a message accepted for a topic on a backend
 * that was down, kept in the gateway's log until the forwarder has sent it. One system topic
 * per backend, `rmq_sys_mqgate_saf_{backend}`, with one queue, so the log's order is the order
 * of acceptance. A record is the message as it was to go out (msgId, born time, tag, keys,
 * properties, body) plus two properties: its topic and the queue index the core chose.
 */
import type { OutboundMessage } from '../../../adapters/index.js';
import type { MessageInput, StoredMessage } from '../../message/message.js';
import { withProps, withoutProps } from '../../message/props.js';

const PREFIX = 'rmq_sys_mqgate_saf_';

export const BacklogProp = {
  TOPIC: '__MQGATE_SAF_TOPIC',
  QUEUE_ID: '__MQGATE_SAF_QID',
} as const;

const OWN: readonly string[] = [BacklogProp.TOPIC, BacklogProp.QUEUE_ID];

/** The backlog topic of a backend (a system topic of the gateway's log, one queue). */
export function backlogTopic(backend: string): string {
  return PREFIX + backend;
}

/** The backlog record of a message for `topic` on the record's backend. */
export function backlogRecord(backlog: string, topic: string, o: OutboundMessage): MessageInput {
  // every field, in the order of MessageInput (see toStoreInput in src/broker/send.ts)
  return {
    topic: backlog,
    queueId: 0,
    body: o.body,
    tag: o.tag,
    keys: o.keys,
    properties: withProps(o.properties, {
      [BacklogProp.TOPIC]: topic,
      [BacklogProp.QUEUE_ID]: String(o.queueId),
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

/** Where a backlog record goes (its topic and queue); undefined for any other record. */
export function backlogTarget(r: StoredMessage): { topic: string; queueId: number } | undefined {
  if (!r.topic.startsWith(PREFIX)) return undefined;
  const topic = r.properties[BacklogProp.TOPIC];
  const queueId = Number(r.properties[BacklogProp.QUEUE_ID]);
  if (topic === undefined || !Number.isInteger(queueId) || queueId < 0) return undefined;
  return { topic, queueId };
}

/** The message of a backlog record as it goes to its backend. */
export function outboundOf(r: StoredMessage, queueId: number): OutboundMessage {
  return {
    queueId,
    msgId: r.msgId,
    bornTimestamp: r.bornTimestamp,
    body: r.body,
    tag: r.tag,
    keys: r.keys,
    properties: withoutProps(r.properties, OWN),
  };
}

/**
 * A backlog record as the message it stands for (found by msgId while it waits): its topic and
 * queue, queueOffset -1 (the backend has not given it one yet), without the record's properties.
 */
export function backloggedMessage(r: StoredMessage): StoredMessage | undefined {
  const to = backlogTarget(r);
  if (to === undefined) return undefined;
  return { ...r, ...to, queueOffset: -1, properties: withoutProps(r.properties, OWN) };
}
