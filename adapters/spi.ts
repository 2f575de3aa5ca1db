/**
 * The adapter contract: the few primitives every broker gives mqgate, the native extras an
 * adapter may add, and its declaration of which features it does itself. The gateway's core
 * (src/gateway/core) supplies every feature an adapter leaves out, over the primitives.
 *
 * Rules (each has a case in test/conformance that fails an adapter breaking it):
 * 1. No broker client type crosses this file; messages are mqgate's own. Errors are
 *    MqgateError (src/errors.ts), translated at the adapter's edge, `retriable` where a later
 *    try can succeed (the broker is down, a confirm timed out).
 * 2. send() writes each message to the queue index it names (never one of its own choosing)
 *    and resolves only once the broker confirmed every one; a rejection means none may be
 *    counted as sent. Calls come concurrently: pipeline them, never one confirm at a time; a
 *    batch keeps its order per queue (store-and-forward relies on it).
 * 3. A delivery stream never has more than `credit` deliveries unsettled; one queue's
 *    deliveries come in that queue's order. Settling twice is harmless (answers false).
 * 4. An unsettled delivery is never lost: release(), closing the stream, a broker restart or a
 *    lost connection give it back and it is delivered again (at least once).
 * 5. capabilities() is data, the same on every call. A feature it leaves out is emulated by
 *    the core; `none` is one the core cannot supply on this broker (the API answers 422).
 *    `extras[f]` is there exactly when feature f is `native`.
 * 6. msgId, bornTimestamp, tag, keys and properties come back as they were sent.
 */
import type * as core from '../src/broker/index.js';
import type { StoredMessage } from '../src/message/message.js';
import type { GetMessageResult } from '../src/store/status.js';

/** What a backend may do beyond the primitives; the core emulates what it does not. */
export const Feature = {
  delayLevels: 'delayLevels', // the configured delay levels (RocketMQ's 18)
  timers: 'timers', // delivery at a given time (deliverAt)
  transactions: 'transactions', // half messages, commit / rollback, check-back
  pop: 'pop', // receive with invisible time, receipt handles, changeInvisibleDuration
  retry: 'retry', // nack: redelivery after the group's back-off, reconsume times counted
  deadLetter: 'deadLetter', // per-group dead-letter queue after maxReconsumeTimes: browse, resend
  broadcasting: 'broadcasting', // every consumer of a group gets every message
  orderly: 'orderly', // an orderly group gets a queue's next message once the last is acked
  tagFilter: 'tagFilter', // `TagA || TagB` subscriptions
  sqlFilter: 'sqlFilter', // SQL92 over properties
  startPosition: 'startPosition', // a new group starts at FIRST, LAST or a time
  seek: 'seek', // read a queue by offset; list, commit and reset a group's offsets
  keyQuery: 'keyQuery', // query by key and by msgId
} as const;
export type Feature = (typeof Feature)[keyof typeof Feature];

/** How a topic gets a feature: the broker does it, the core does it, or no one can. */
export type Support = 'native' | 'emulated' | 'none';

export interface Capabilities {
  /** Per feature, `native` or `none` with one line on how or why; the rest the core emulates. */
  readonly features: Partial<Record<Feature, { readonly support: 'native' | 'none'; readonly how: string }>>;
  readonly maxMessageSize: number; // the largest message body the broker takes (bytes)
  readonly straightPush?: boolean; // push subscribers may read consume() straight, without a POP lane
}

/** A message for a queue; the core has chosen the queue and stamped the id and born time. */
export interface OutboundMessage {
  readonly queueId: number;
  readonly msgId: string;
  readonly bornTimestamp: number;
  readonly body: Uint8Array | string;
  readonly tag: string | undefined;
  readonly keys: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
  /** Only where `delayLevels` / `timers` are native: deliver then (ms since the epoch). */
  readonly delayLevel?: number | undefined;
  readonly deliverAt?: number | undefined;
}

/** The broker's confirm of one message: its offset in the queue (-1 where it keeps none). */
export type SendReceipt = { readonly queueOffset: number };

/** One message of a stream (queueOffset -1 where the broker has none), and how to settle it. */
export interface Delivery {
  readonly message: StoredMessage;
  readonly deliveryAttempt: number; // 1 first; higher where the broker counts redeliveries
  ack(): Promise<boolean>; // done: the broker forgets it for this group
  // where `retry` is native: a copy comes back after the delay level, or goes to the group's DLQ
  nack(o?: { delayLevel?: number; deadLetter?: boolean }): Promise<boolean>;
  release(): Promise<boolean>; // back to the broker, delivered again soon
}

export interface DeliveryStream extends AsyncIterable<Delivery>, AsyncDisposable {
  readonly closed: boolean;
  close(): Promise<void>; // what is unsettled goes back to the broker
}

export interface ConsumeOptions {
  readonly credit: number;
  // each only where its feature is native: where a new group starts, one in flight per queue,
  // the subscription's filter
  readonly from?: core.OffsetTarget | undefined;
  readonly orderly?: boolean | undefined;
  readonly filter?: core.FilterSpec | undefined;
}

type Client = { clientId?: string }; // a broadcasting consumer's own offsets
type Handle = { receiptHandle: string; invisibleUntil: number };
type Resolved = { transactionId: string; state: string };
type Range = { begin?: number; end?: number; max?: number };

/** `member`: a broadcasting consumer's own group; `from`: a new group's start, fixed here (sends
 * after it are its); `filter`, `orderly`, `from`: where native. */
export type GroupOptions = { orderly?: boolean; member?: boolean } & Pick<ConsumeOptions, 'filter' | 'from'>;

/** What an adapter does itself, by feature (rule 5); `delayLevels`, `timers`: see OutboundMessage. */
export interface Extras {
  readonly pop?: {
    receive(group: string, o: core.ReceiveOptions): Promise<core.ReceivedMessage[]>;
    ack(group: string, topic: string, receiptHandle: string): Promise<void>;
    nack(group: string, topic: string, handle: string, o: { delayLevel?: number }): Promise<core.NackOutcome>;
    changeInvisibleDuration(group: string, topic: string, handle: string, ms: number): Promise<Handle>;
  };
  readonly transactions?: {
    prepare(topic: string, producerGroup: string, m: core.SendInput): Promise<core.Prepared>;
    commit(transactionId: string): Promise<Resolved>;
    rollback(transactionId: string): Promise<Resolved>;
    setChecker(checker: core.TxChecker): void;
  };
  readonly seek?: {
    pull(topic: string, queueId: number, offset: number, max: number): Promise<GetMessageResult>;
    queueOffsets(topic: string): Promise<{ queueId: number; minOffset: number; maxOffset: number }[]>;
    offsets(group: string, topic: string, o?: Client): Promise<core.QueueOffset[]>;
    commitOffset(group: string, topic: string, queueId: number, offset: number, o?: Client): Promise<void>;
    resetOffsets(group: string, topic: string, to: core.OffsetTarget, o?: Client): Promise<void>;
    /** The offset of the first message born (or stored) at or after `time`; the next offset if none. */
    offsetAt(topic: string, queueId: number, time: number): Promise<number>;
  };
  readonly keyQuery?: {
    byMsgId(msgId: string): Promise<StoredMessage | undefined>;
    byKey(topic: string, key: string, o: Range): Promise<StoredMessage[]>;
  };
  readonly deadLetter?: {
    list(group: string, o: { offset?: number; max?: number }): Promise<StoredMessage[]>;
    resend(group: string, msgId: string): Promise<core.SendResult>;
  };
}

/** `version`: the broker's own, where it tells (some features depend on it). */
export type Health = {
  readonly status: 'up' | 'down';
  readonly lastError?: string;
  readonly version?: string;
};

/** A broker behind the gateway. */
export interface BrokerAdapter {
  readonly type: string; // `local`, `local-bare`, `rabbitmq`, ...
  readonly extras: Extras;
  capabilities(): Capabilities;
  connect(): Promise<void>;
  close(): Promise<void>;
  health(): Health;
  ensureTopic(topic: string, queues: number): Promise<void>; // idempotent; queues only grow
  /** Idempotent; before a group's first consume and when its subscription (`filter`) changes. */
  ensureGroup(group: string, topic: string, o?: GroupOptions): Promise<void>;
  /** Optional: removes what the broker keeps for a topic (its queues, the groups' queues of it). */
  deleteTopic?(topic: string): Promise<void>;
  send(topic: string, batch: readonly OutboundMessage[]): Promise<SendReceipt[]>;
  /**
   * Optional, for routes with `transactionalCommit`: sends a committed transaction's message with
   * a mark of it in one broker transaction. Where the mark of the same msgId is there already (a
   * commit repeated after a crash), resolves without sending (offset -1): once, not twice.
   */
  sendCommitted?(topic: string, m: OutboundMessage): Promise<SendReceipt>;
  consume(group: string, topic: string, o: ConsumeOptions): DeliveryStream;
}
