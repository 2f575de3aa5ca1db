/**
 * Publishing with publisher confirms on one confirm channel: every publish is `mandatory`, many
 * are in flight at once (pipelined, never one confirm at a time), and each resolves only on the
 * broker's ack. A nack, a return (no queue took it), a closed channel or no answer within the
 * confirm timeout rejects it: the caller counts it as not sent.
 */
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { MqgateError } from '../../src/errors.js';
import type { Encoded } from './codec.js';

interface Pending {
  readonly at: number;
  readonly msgId: string;
  settled: boolean;
  resolve(): void;
  reject(e: MqgateError): void;
}

export class ConfirmPublisher {
  readonly #timeoutMs: number;
  readonly #name: string;
  #ch: ConfirmChannel | undefined;
  /** In publish order: the sweep looks at the oldest first. */
  readonly #pending = new Set<Pending>();
  /** msgIds the broker returned (mandatory, no route): their ack that follows is a failure. */
  readonly #returned = new Map<string, string>();

  /** Set while the broker refuses publishes (an alarm): they fail at once with this reason. */
  blocked: (() => string | undefined) | undefined;

  constructor(name: string, timeoutMs: number) {
    this.#name = name;
    this.#timeoutMs = timeoutMs;
    // one sweep for every publish (a timer each would cost more than the publish)
    setInterval(() => this.#expire(), Math.max(50, Math.min(1000, timeoutMs / 4))).unref();
  }

  /** Publishes go to this channel from now on (a new one after a reconnect). */
  attach(ch: ConfirmChannel): void {
    this.#ch = ch;
    ch.on('return', (msg: ConsumeMessage) => {
      const id = msg.properties.messageId as string | undefined;
      if (id !== undefined) this.#returned.set(id, `${msg.fields.exchange} "${msg.fields.routingKey}"`);
    });
    ch.on('close', () => {
      if (this.#ch === ch) this.#ch = undefined;
    });
  }

  get ready(): boolean {
    return this.#ch !== undefined;
  }

  /** Fails every publish still waiting (the connection is gone: none is known to be written). */
  detach(why: string): void {
    this.#ch = undefined;
    for (const p of this.#pending) this.#fail(p, unavailable(`${this.#name}: ${why}`));
  }

  publish(exchange: string, routingKey: string, m: Encoded): Promise<void> {
    const ch = this.#ch;
    if (ch === undefined)
      return Promise.reject(
        unavailable(`${this.#name} is not connected; sends are refused until it is back`),
      );
    const blocked = this.blocked?.();
    if (blocked !== undefined) return Promise.reject(unavailable(`${this.#name}: ${blocked}`));
    return new Promise<void>((resolve, reject) => {
      const p: Pending = {
        at: Date.now(),
        msgId: String(m.options.messageId),
        settled: false,
        resolve,
        reject,
      };
      this.#pending.add(p);
      try {
        ch.publish(exchange, routingKey, m.content, { ...m.options, mandatory: true }, (err: unknown) => {
          const returned = this.#returned.get(p.msgId);
          if (returned !== undefined) this.#returned.delete(p.msgId);
          if (err !== null && err !== undefined)
            this.#fail(p, unavailable(`${this.#name} did not confirm: ${String(err)}`));
          else if (returned !== undefined)
            this.#fail(
              p,
              new MqgateError('MQ_ERR_BACKEND_REFUSED', `${this.#name}: no queue is bound for ${returned}`),
            );
          else this.#done(p);
        });
      } catch (e) {
        // amqplib throws when a header table does not fit its encoding buffer, or the channel closed
        this.#fail(
          p,
          e instanceof RangeError
            ? new MqgateError('MQ_ERR_MESSAGE_ILLEGAL', `${this.#name}: ${e.message}`)
            : unavailable(`${this.#name}: ${String(e)}`),
        );
      }
    });
  }

  #done(p: Pending): void {
    if (p.settled) return;
    p.settled = true;
    this.#pending.delete(p);
    p.resolve();
  }

  #fail(p: Pending, e: MqgateError): void {
    if (p.settled) return;
    p.settled = true;
    this.#pending.delete(p);
    p.reject(e);
  }

  #expire(): void {
    const old = Date.now() - this.#timeoutMs;
    for (const p of this.#pending) {
      if (p.at > old) break;
      this.#fail(p, unavailable(`${this.#name} did not confirm within ${this.#timeoutMs} ms`));
    }
  }
}

function unavailable(message: string): MqgateError {
  return new MqgateError('MQ_ERR_BACKEND_UNAVAILABLE', message);
}
