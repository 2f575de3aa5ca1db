/**
 * Transaction check-back, routed: the broker core asks one checker about an unresolved half
 * message; this router answers through a WebSocket registered for the message's producer group
 * (`txRegister`) when there is one, else by POSTing to the `checkUrl` the producer gave when it
 * prepared the message (kept in the half message, so it survives a restart), else UNKNOW.
 * A callback that fails, times out or answers something else counts as UNKNOW, as RocketMQ
 * counts a check that throws.
 */
import type { Logger } from 'pino';
import type { TxCheckRequest, TxChecker } from '../broker/index.js';
import { TxState } from '../broker/index.js';

/** The half-message property holding the producer's check-back URL. */
export const CHECK_URL_PROP = '__MQGATE_CHECK_URL';

/** What a check answers, in the API's words. */
export type CheckAnswer = 'COMMIT' | 'ROLLBACK' | 'UNKNOWN';

export interface CheckBody {
  readonly transactionId: string;
  readonly msgId: string;
  readonly topic: string;
  readonly producerGroup: string;
  readonly checkTimes: number;
  readonly message: unknown;
}

/**
 * A live check-back channel (one WebSocket) for a producer group. It answers within its own
 * time limit (the WebSocket's counts UNKNOWN after api.checkTimeoutMs and forgets the check);
 * the broker core bounds every check as a backstop.
 */
export type CheckHandler = (req: TxCheckRequest) => Promise<CheckAnswer>;

export interface TxCheckRouterOptions {
  /** An HTTP callback unanswered this long fails (and is retried). */
  readonly timeoutMs: number;
  /** Further attempts of a failed HTTP callback within one check. */
  readonly retries: number;
  readonly log: Logger;
  /** The JSON form of a message (the API's), for the callback body. */
  readonly toJson: (req: TxCheckRequest) => unknown;
}

export function toTxState(a: unknown): TxState {
  if (a === 'COMMIT' || a === 'COMMIT_MESSAGE') return TxState.COMMIT_MESSAGE;
  if (a === 'ROLLBACK' || a === 'ROLLBACK_MESSAGE') return TxState.ROLLBACK_MESSAGE;
  return TxState.UNKNOW;
}

export class TxCheckRouter {
  readonly #handlers = new Map<string, CheckHandler[]>();
  readonly #o: TxCheckRouterOptions;
  #next = 0;
  /** Checks answered per outcome, and callbacks that failed (metrics). */
  readonly counts = { http: 0, ws: 0, failed: 0, none: 0 };
  #idOut: ((transactionId: string) => string) | undefined;

  constructor(o: TxCheckRouterOptions) {
    this.#o = o;
  }

  /** How a transaction id leaves in a callback body (the API's `{owner}~` when it sets one). */
  setTransactionIdOut(out: (transactionId: string) => string): void {
    this.#idOut = out;
  }

  /** Registers a live channel for a producer group; returns its removal. */
  register(producerGroup: string, handler: CheckHandler): () => void {
    const list = this.#handlers.get(producerGroup) ?? [];
    list.push(handler);
    this.#handlers.set(producerGroup, list);
    return () => {
      const l = this.#handlers.get(producerGroup);
      if (l === undefined) return;
      const i = l.indexOf(handler);
      if (i >= 0) l.splice(i, 1);
      if (l.length === 0) this.#handlers.delete(producerGroup);
    };
  }

  registered(producerGroup: string): number {
    return this.#handlers.get(producerGroup)?.length ?? 0;
  }

  /** The checker to give the broker core. */
  readonly checker: TxChecker = async (req) => {
    const handlers = this.#handlers.get(req.producerGroup);
    if (handlers !== undefined && handlers.length > 0) {
      const h = handlers[this.#next++ % handlers.length] as CheckHandler;
      this.counts.ws++;
      try {
        return toTxState(await h(req));
      } catch (e) {
        this.counts.failed++;
        this.#o.log.warn({ err: e, transactionId: req.transactionId }, 'WebSocket check-back failed');
        return TxState.UNKNOW;
      }
    }
    const url = req.message.properties[CHECK_URL_PROP];
    if (url === undefined) {
      this.counts.none++;
      return TxState.UNKNOW;
    }
    this.counts.http++;
    return this.#http(url, req);
  };

  async #http(url: string, req: TxCheckRequest): Promise<TxState> {
    const body: CheckBody = {
      transactionId: this.#idOut === undefined ? req.transactionId : this.#idOut(req.transactionId),
      msgId: req.msgId,
      topic: req.topic,
      producerGroup: req.producerGroup,
      checkTimes: req.checkTimes,
      message: this.#o.toJson(req),
    };
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.#o.retries; attempt++) {
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.#o.timeoutMs),
        });
        if (!res.ok) {
          // an answered error counts as UNKNOW (no retry: the producer said it cannot tell)
          this.#o.log.warn(
            { url, status: res.status, transactionId: req.transactionId },
            'check-back answered an error',
          );
          return TxState.UNKNOW;
        }
        const answer = (await res.json()) as { state?: unknown };
        return toTxState(answer.state);
      } catch (e) {
        lastError = e;
      }
    }
    this.counts.failed++;
    this.#o.log.warn({ url, err: lastError, transactionId: req.transactionId }, 'check-back callback failed');
    return TxState.UNKNOW;
  }
}
