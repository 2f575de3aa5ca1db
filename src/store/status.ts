import type { StoredMessage } from '../message/message.js';

/** Outcome of an append (RocketMQ's PutMessageStatus): expected outcomes are values, not throws. */
export const PutMessageStatus = {
  PUT_OK: 'PUT_OK',
  /** SYNC_FLUSH: written, but the fsync did not finish within syncFlushTimeoutMs. */
  FLUSH_DISK_TIMEOUT: 'FLUSH_DISK_TIMEOUT',
  /** Bad topic, queue id, msgId, or a body over maxMessageSize; `reason` says which. */
  MESSAGE_ILLEGAL: 'MESSAGE_ILLEGAL',
  PROPERTIES_SIZE_EXCEEDED: 'PROPERTIES_SIZE_EXCEEDED',
  /** The store is closed or closing. */
  SERVICE_NOT_AVAILABLE: 'SERVICE_NOT_AVAILABLE',
  /** The OS refused the write (disk full, I/O error); nothing of this append was kept. */
  OS_WRITE_FAILED: 'OS_WRITE_FAILED',
} as const;
export type PutMessageStatus = (typeof PutMessageStatus)[keyof typeof PutMessageStatus];

export interface PutMessageResult {
  readonly status: PutMessageStatus;
  /** Set when the message was written (PUT_OK, FLUSH_DISK_TIMEOUT). */
  readonly msgId?: string;
  readonly queueId?: number;
  readonly queueOffset?: number;
  readonly commitLogOffset?: number;
  readonly storeTimestamp?: number;
  readonly storeSize?: number;
  /** Why an append was refused, in words a person can act on. */
  readonly reason?: string;
}

/** Outcome of a read by queue offset (RocketMQ's GetMessageStatus). */
export const GetMessageStatus = {
  FOUND: 'FOUND',
  /** Entries were scanned but none matched the filter; continue at nextBeginOffset. */
  NO_MATCHED_MESSAGE: 'NO_MATCHED_MESSAGE',
  /** The topic or queue does not exist in the store. */
  NO_MATCHED_LOGIC_QUEUE: 'NO_MATCHED_LOGIC_QUEUE',
  NO_MESSAGE_IN_QUEUE: 'NO_MESSAGE_IN_QUEUE',
  /** The offset is below the queue's min offset (retention removed it). */
  OFFSET_TOO_SMALL: 'OFFSET_TOO_SMALL',
  /** The offset equals the max offset: nothing new yet. */
  OFFSET_OVERFLOW_ONE: 'OFFSET_OVERFLOW_ONE',
  OFFSET_OVERFLOW_BADLY: 'OFFSET_OVERFLOW_BADLY',
  /** Entries exist but their records could not be read (all corrupt or removed). */
  OFFSET_FOUND_NULL: 'OFFSET_FOUND_NULL',
} as const;
export type GetMessageStatus = (typeof GetMessageStatus)[keyof typeof GetMessageStatus];

/** A record the store refused to return because it failed its checks. */
export interface CorruptRecord {
  readonly commitLogOffset: number;
  readonly queueOffset?: number;
  readonly reason: string;
}

export interface GetMessageResult {
  readonly status: GetMessageStatus;
  readonly messages: StoredMessage[];
  readonly nextBeginOffset: number;
  readonly minOffset: number;
  readonly maxOffset: number;
  /** Entries skipped because their record failed CRC or sanity checks (never returned as data). */
  readonly corrupted: CorruptRecord[];
}
