/**
 * Noticing that a client went away before its reply was sent, so that a long poll stops
 * waiting (and stops holding a place among the waiters) at once instead of at its timeout.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface ClientGone {
  /** Aborts when the connection closes before the reply is written. */
  readonly signal: AbortSignal;
  /** Removes the listeners (call when the handler is done). */
  done(): void;
}

/**
 * Watches `reply.raw` 'close' (emitted when the socket closes, or after the reply was written)
 * and `req.raw` 'close' with a destroyed socket; either one before the reply is written aborts.
 */
export function clientGone(req: FastifyRequest, reply: FastifyReply): ClientGone {
  const ac = new AbortController();
  const socketGone = (): boolean => req.raw.socket === null || req.raw.socket.destroyed;
  const onReplyClose = (): void => {
    if (!reply.raw.writableFinished) ac.abort();
  };
  const onRequestClose = (): void => {
    if (socketGone() && !reply.raw.writableFinished) ac.abort();
  };
  reply.raw.once('close', onReplyClose);
  req.raw.once('close', onRequestClose);
  if (socketGone()) ac.abort();
  return {
    signal: ac.signal,
    done: () => {
      reply.raw.off('close', onReplyClose);
      req.raw.off('close', onRequestClose);
    },
  };
}
