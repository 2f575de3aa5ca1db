/**
 * The JSON shapes of the mqgate API (API.md), as the client sees them. They mirror the
 * server's schemas; the client has no runtime dependency on the server.
 */

/** A message to send. */
export interface MessageInput {
  /** Text, or any JSON value (it comes back as the same value). */
  body?: unknown;
  /** Bytes as base64 (instead of body). */
  bodyBase64?: string;
  tag?: string;
  keys?: string[];
  properties?: Record<string, string>;
  /** Ordered: same key, same queue, FIFO. */
  shardingKey?: string;
  queueId?: number;
  delayLevel?: number;
  /** ms since the epoch, or an ISO-8601 time. */
  deliverAt?: number | string;
  msgId?: string;
}

/** A message as received or queried. */
export interface Message {
  msgId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  body?: unknown;
  bodyBase64?: string;
  tag?: string;
  keys: string[];
  properties: Record<string, string>;
  shardingKey?: string;
  bornTimestamp: number;
  storeTimestamp: number;
  reconsumeTimes: number;
  deliveryAttempt?: number;
  receiptHandle?: string;
  invisibleUntil?: number;
  backend: string;
}

export interface SendResult {
  msgId: string;
  topic: string;
  queueId: number;
  queueOffset: number;
  /** RocketMQ's SendStatus: SEND_OK, FLUSH_DISK_TIMEOUT. */
  status: string;
  deliverAt?: number;
}

export type FilterInput = { type: 'TAG' | 'SQL92'; expression: string };

export interface ReceiveInput {
  topic: string;
  filter?: FilterInput;
  maxMessages?: number;
  invisibleSeconds?: number;
  waitSeconds?: number;
}

export interface GroupInput {
  consumeMode?: 'CLUSTERING' | 'BROADCASTING';
  orderly?: boolean;
  maxReconsumeTimes?: number;
  retryDelayLevels?: number[];
  consumeFrom?: string;
  [more: string]: unknown;
}

export interface TransactionResult {
  transactionId: string;
  msgId: string;
  status: string;
  [more: string]: unknown;
}

export type CheckState = 'COMMIT' | 'ROLLBACK' | 'UNKNOWN';

/** A transaction check-back as the server sends it (HTTP callback body or `txCheck` frame). */
export interface TxCheck {
  transactionId: string;
  msgId: string;
  topic: string;
  producerGroup: string;
  checkTimes: number;
  message: Message;
}

/** The JSON error every failure answers with. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

/** A topic as listed. */
export interface TopicSummary {
  name: string;
  queues: number;
  perm: 'RW' | 'R' | 'W' | string;
  backend: string;
  createdAt: number;
}

/** A topic with its queues' offsets and its backend's capabilities. */
export interface TopicDetail extends TopicSummary {
  system: boolean;
  queueOffsets: { queueId: number; minOffset: number; maxOffset: number }[];
  capabilities: Record<string, 'native' | 'emulated' | 'none'>;
  /** Per feature, one line on how (or why not). */
  how: Record<string, string>;
  /** Store-and-forward: messages accepted while the backend was down, not forwarded yet. */
  backlog: {
    messages: number;
    /** When the oldest of them was stored (ms since the epoch). */
    oldestTimestamp?: number;
    /** Messages forwarded since the gateway started. */
    forwarded: number;
  };
}

export interface GroupConfig {
  name: string;
  consumeMode: 'CLUSTERING' | 'BROADCASTING';
  orderly: boolean;
  maxReconsumeTimes: number;
  retryDelayLevels?: number[];
  consumeFrom: string;
  consumeTimestamp?: number;
  suspendMs: number;
  createdAt: number;
}

/** A group with its live consumers, lag, retries and dead letters. */
export interface GroupDetail {
  config: GroupConfig;
  consumers: {
    clientId: string;
    topic: string;
    queueIds: number[];
    retry: boolean;
    credit: number;
    unsettled: number;
  }[];
  [more: string]: unknown;
}

export interface QueueOffset {
  queueId: number;
  offset: number;
  minOffset: number;
  maxOffset: number;
  lag: number;
  inflight?: number;
}

export interface GroupOffsets {
  group: string;
  topic: string;
  offsets: QueueOffset[];
}

export interface PullResult {
  status: string;
  messages: Message[];
  nextOffset: number;
  minOffset: number;
  maxOffset: number;
}

export interface BackendInfo {
  name: string;
  /** local, local-bare, ... */
  type: string;
  status: 'up' | 'down';
  lastError?: string;
  /** The broker's version, where it tells. */
  version?: string;
  /** Where topics no route names live. */
  default: boolean;
  maxMessageSize: number;
  /** Per feature: native (the broker), emulated (mqgate's core) or none (refused with 422). */
  features: Record<string, 'native' | 'emulated' | 'none'>;
  /** Per feature, one line on how (or why not). */
  how: Record<string, string>;
  /** Store-and-forward: messages accepted while the backend was down, not forwarded yet. */
  backlog: {
    messages: number;
    /** When the oldest of them was stored (ms since the epoch). */
    oldestTimestamp?: number;
    /** Messages forwarded since the gateway started. */
    forwarded: number;
  };
}

export interface AckResult {
  receiptHandle?: string;
  ok?: boolean;
  results?: { receiptHandle: string; ok: boolean; error?: { code: string; message: string } }[];
}
