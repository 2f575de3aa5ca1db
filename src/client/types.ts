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
