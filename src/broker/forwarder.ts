import type { MessageInput } from '../message/message.js';

/**
 * Where the core sends the messages of topics that live on another backend: a delayed or
 * timed message when it is due, a committed transaction, a dead letter sent back. The gateway
 * plugs one in (its routes know which topics are remote); without one, every topic is the
 * embedded log's.
 */
export interface Forwarder {
  /** True when `topic` lives on another backend. */
  owns(topic: string): boolean;
  /**
   * Sends one message to its topic's backend, to the queue it names; resolves, with its queue
   * offset there (-1 where the backend keeps none), once the broker confirmed it. Rejects with
   * a MqgateError, `retriable` when a later try may succeed.
   */
  forward(m: MessageInput): Promise<number>;
}

/** The forwarder of a broker, looked up on use (it is plugged in after the broker opens). */
export type ForwarderRef = () => Forwarder | undefined;
