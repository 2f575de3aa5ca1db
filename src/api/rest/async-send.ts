/**
 * The `async` and `oneway` modes of a send (RocketMQ's sendAsync and sendOneway): the msgId is
 * made up front so the 202 answer can carry it; the store write goes on after the answer.
 * What the gateway finds wrong before the write (unknown topic, oversize body, bad delay) is
 * still answered as the request's error; a later outcome goes to the callback URL (async) or
 * only to the log (oneway).
 */
import type { Logger } from 'pino';
import type { SendInput, SendResult } from '../../gateway/index.js';
import { MqgateError, isMqgateError } from '../../errors.js';
import type { Gateway } from '../../gateway/index.js';
import type { CallbackOptions } from './callback.js';
import { postCallback } from './callback.js';
import { errorBody } from './errors.js';

/** The 202 answer of an async or oneway send. */
export interface Accepted {
  msgId: string;
  topic: string;
  mode: 'async' | 'oneway';
}

/** What a callback receives: the send result, or the error with the msgId and topic. */
export type CallbackBody =
  | (SendResult & { mode: 'async' })
  | { msgId: string; topic: string; mode: 'async'; error: { code: string; message: string } };

/**
 * The outcome of `p` when it settles within this turn of the event loop (the checks of a send
 * run before its first await, so their errors do); undefined while it is still pending.
 */
export async function settledNow<T>(p: Promise<T>): Promise<PromiseSettledResult<T> | undefined> {
  let out: PromiseSettledResult<T> | undefined;
  p.then(
    (value) => (out = { status: 'fulfilled', value }),
    (reason: unknown) => (out = { status: 'rejected', reason }),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  return out;
}

export interface SendLaterOptions {
  readonly mode: 'async' | 'oneway';
  readonly callbackUrl?: string | undefined;
  readonly callback: CallbackOptions;
  readonly log: Logger;
}

/**
 * Starts a send and answers once its early checks passed.
 *
 * @throws what the send throws before its store write (as the request's error)
 */
export async function sendLater(
  gateway: Gateway,
  topic: string,
  input: SendInput,
  o: SendLaterOptions,
): Promise<Accepted> {
  const msgId = input.msgId ?? gateway.newMsgId();
  const p = gateway.send(topic, { ...input, msgId });
  const early = await settledNow(p);
  if (early?.status === 'rejected') throw early.reason;
  const url = o.callbackUrl;
  p.then(
    (r) => {
      if (url !== undefined)
        void postCallback(url, { ...r, mode: 'async' } satisfies CallbackBody, o.callback);
    },
    (e: unknown) => {
      const err = isMqgateError(e) ? e : new MqgateError('MQ_ERR_INTERNAL', `the send of ${msgId} failed`);
      o.log.warn({ err: e, msgId, topic, mode: o.mode }, 'asynchronous send failed');
      if (url !== undefined)
        void postCallback(
          url,
          { msgId, topic, mode: 'async', error: errorBody(err).error } satisfies CallbackBody,
          o.callback,
        );
    },
  );
  return { msgId: msgId.toUpperCase(), topic, mode: o.mode };
}
