/**
 * What the two push subscriptions of remote topics (core-push.ts over the core's POP,
 * direct-push.ts straight over a backend's stream) share: the subscriber's credit, the wait for
 * room under it (an ack, a nack or a higher credit wakes it), and `ready`, which settles once
 * the subscription runs (or failed to start: the WebSocket answers the subscribe with it).
 */
import type { Logger } from 'pino';
import { checkedCredit } from '../../broker/index.js';

export abstract class CreditedSubscription {
  readonly group: string;
  readonly topic: string;
  readonly ready: Promise<void>;
  #credit: number;
  #room: (() => void) | undefined;
  #started: () => void = () => {};

  protected constructor(group: string, topic: string, credit: number) {
    this.group = group;
    this.topic = topic;
    this.#credit = credit;
    let failed!: (e: unknown) => void;
    this.ready = new Promise<void>((resolve, reject) => ((this.#started = resolve), (failed = reject)));
    this.ready.catch(() => {}); // the WebSocket answers it; nothing else must
    // after the subclass's constructor: its fields are set when run() starts
    queueMicrotask(
      () =>
        void this.run().catch((err: unknown) => {
          failed(err);
          this.logger.error({ err, group: this.group, topic: this.topic }, `${this.kind} failed`);
          this.close();
        }),
    );
  }

  /** The subscription's loop: calls started() once it runs, ends when closed. */
  protected abstract run(): Promise<void>;
  protected abstract readonly logger: Logger;
  /** What the log calls it when it fails. */
  protected abstract readonly kind: string;
  abstract close(): void;

  get credit(): number {
    return this.#credit;
  }

  setCredit(n: number): void {
    this.#credit = checkedCredit(n);
    this.wake();
  }

  heartbeat(): void {}

  /** `ready` resolves: the subscription runs. */
  protected started(): void {
    this.#started();
  }

  /** Resolves once wake() is called (room under the credit may have come), or after `ms`. */
  protected room(ms?: number): Promise<void> {
    return new Promise<void>((r) => {
      this.#room = r;
      if (ms !== undefined) setTimeout(r, ms).unref();
    });
  }

  /** Wakes the loop waiting in room(). */
  protected wake(): void {
    const r = this.#room;
    this.#room = undefined;
    r?.();
  }
}
