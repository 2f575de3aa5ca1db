import type { GroupStats } from './consume/group-stats.js';
import type { FilterSpec } from './filter/index.js';
import type { GroupConfig } from './group-registry.js';

export interface ReceiveOptions {
  readonly topic: string;
  readonly filter?: FilterSpec | undefined;
  /** 1..32. @defaultValue 32 */
  readonly maxMessages?: number | undefined;
  /** @defaultValue the broker's defaultInvisibleMs */
  readonly invisibleMs?: number | undefined;
  /** Long poll: wait this long for a message when there is none. @defaultValue 0 */
  readonly waitMs?: number | undefined;
  /** Ends a long poll early (the client went away). */
  readonly signal?: AbortSignal | undefined;
}

export interface SubscribeOptions {
  readonly filter?: FilterSpec | undefined;
  /** Unsettled messages the subscriber can hold. @defaultValue the broker's defaultCredit */
  readonly credit?: number | undefined;
  /** Stable id of the consumer (broadcasting offsets are kept per client id). */
  readonly clientId?: string | undefined;
  readonly ackTimeoutMs?: number | undefined;
}

/** A group as the admin API shows it. */
export interface GroupView {
  readonly config: GroupConfig;
  readonly consumers: {
    clientId: string;
    topic: string;
    queueIds: number[];
    retry: boolean;
    credit: number;
    unsettled: number;
  }[];
  readonly stats: GroupStats;
  readonly retryMessages: number;
  readonly dlqMessages: number;
}

/** How far one consumer group is behind on one queue (metrics). */
export interface ConsumerLag {
  readonly group: string;
  readonly topic: string;
  readonly queueId: number;
  /** Messages from the committed offset to the queue's end (broadcasting: the client furthest behind). */
  readonly lag: number;
  /** Messages handed out and not settled yet. */
  readonly inflight: number;
}

export const MAX_RECEIVE = 32;
