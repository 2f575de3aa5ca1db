/**
 * mqgate's messages as RocketMQ 5 messages (rocketmq-client-nodejs) and back. Body, tag, keys
 * and properties are RocketMQ's own; the gRPC client stamps a message id and born time of its
 * own, so mqgate's ride in two properties:
 *
 * ```
 *   mqgate-id     msgId (32 hex characters)
 *   mqgate-born   born timestamp, ms
 * ```
 * Properties RocketMQ reserves for itself travel under a prefix (see RESERVED). Every message is
 * sent with a message group, which is how a gRPC send picks its queue (see
 * queue-groups.ts); a delivered message's queue is found again from its group.
 */
import { createHash } from 'node:crypto';
import type { MessageOptions, MessageView } from 'rocketmq-client-nodejs';
import type { StoredMessage } from '../../src/message/message.js';
import type { OutboundMessage } from '../spi.js';
import { queueOfGroup } from './queue-groups.js';

const P = { id: 'mqgate-id', born: 'mqgate-born' } as const;
const MSG_ID = /^[0-9A-F]{32}$/;

/**
 * Property names RocketMQ keeps for itself (MessageConst.STRING_HASH_SET): the proxy refuses a
 * user property of these names ("property is used by system"). mqgate's core uses several of
 * them as RocketMQ does (REAL_TOPIC, REAL_QID, PGROUP, DELAY, RETRY_TOPIC, ...), so they travel
 * under `RESERVED_PREFIX` and come back under their own names.
 */
const RESERVED = new Set(
  (
    'TRACE_ON MSG_REGION KEYS TAGS WAIT DELAY RETRY_TOPIC REAL_TOPIC REAL_QID TRAN_MSG PGROUP ' +
    'MIN_OFFSET MAX_OFFSET BUYER_ID ORIGIN_MESSAGE_ID TRANSFER_FLAG CORRECTION_FLAG MQ2_FLAG ' +
    'RECONSUME_TIME UNIQ_KEY MAX_RECONSUME_TIMES CONSUME_START_TIME POP_CK POP_CK_OFFSET ' +
    '1ST_POP_TIME TRAN_PREPARED_QUEUE_OFFSET DUP_INFO EXTEND_UNIQ_INFO INSTANCE_ID CORRELATION_ID ' +
    'REPLY_TO_CLIENT TTL ARRIVE_TIME PUSH_REPLY_TIME CLUSTER MSG_TYPE INNER_MULTI_QUEUE_OFFSET ' +
    'TIMER_DELAY_MS TIMER_DELAY_SEC TIMER_DELIVER_MS TIMER_ENQUEUE_MS TIMER_DEQUEUE_MS ' +
    'TIMER_ROLL_TIMES TIMER_OUT_MS TIMER_DEL_UNIQKEY TIMER_DELAY_LEVEL __BORNHOST BORN_TIMESTAMP ' +
    'DLQ_ORIGIN_TOPIC DLQ_ORIGIN_MESSAGE_ID __CRC32#'
  ).split(' '),
);
const RESERVED_PREFIX = 'mqgate-sys-';

/** The client's message for `m`, in message group `group`. */
export function toMessage(topic: string, m: OutboundMessage, group: string): MessageOptions {
  const properties = new Map<string, string>();
  for (const [k, v] of Object.entries(m.properties))
    properties.set(RESERVED.has(k) ? RESERVED_PREFIX + k : k, v);
  properties.set(P.id, m.msgId);
  properties.set(P.born, String(m.bornTimestamp));
  return {
    topic,
    body: typeof m.body === 'string' ? Buffer.from(m.body, 'utf8') : Buffer.from(m.body),
    tag: m.tag,
    keys: [...m.keys],
    properties,
    messageGroup: group,
  };
}

/** A delivered message as mqgate's; `queues`: the topic's queue count (its queue is found from its group). */
export function toStored(v: MessageView, queues: number): StoredMessage {
  const properties: Record<string, string> = {};
  for (const [k, x] of v.properties)
    if (k.startsWith(RESERVED_PREFIX)) properties[k.slice(RESERVED_PREFIX.length)] = x;
    else if (k !== P.id && k !== P.born) properties[k] = x;
  const born = Number(v.properties.get(P.born) ?? v.bornTimestamp?.getTime() ?? Date.now());
  return {
    msgId: v.properties.get(P.id) ?? foreignId(v.messageId),
    topic: v.topic,
    queueId: v.messageGroup === undefined ? -1 : queueOfGroup(v.messageGroup, queues),
    queueOffset: v.offset ?? -1,
    commitLogOffset: -1,
    storeSize: v.body.length,
    tag: v.tag,
    keys: v.keys,
    properties,
    body: v.body,
    bornTimestamp: born,
    storeTimestamp: v.transportDeliveryTimestamp?.getTime() ?? born,
    flag: 0,
    sysFlag: 0,
    reconsumeTimes: Math.max(0, (v.deliveryAttempt ?? 1) - 1),
    preparedTransactionOffset: 0,
  };
}

/** A message sent by another RocketMQ client: its id if it is one of mqgate's shape, else a digest of it. */
function foreignId(messageId: string): string {
  const upper = messageId.toUpperCase();
  return MSG_ID.test(upper) ? upper : createHash('md5').update(messageId).digest('hex').toUpperCase();
}
