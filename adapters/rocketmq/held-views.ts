/**
 * The messages a SimpleConsumer has out, kept invisible at the broker in short leases renewed
 * while they are unsettled, instead of one long invisible time asked for at receive.
 *
 * Why: whatever the broker handed out and mqgate cannot settle or give back — a receive whose
 * answer was lost as the broker stopped, a give-back while it was down, a receipt handle from
 * before its restart — is back in the queue only when its invisible time runs out (RocketMQ's POP
 * revive: the checkpoint written at receive is revived then, and a restart keeps it). With the
 * stream's own hold (minutes) such a message would miss every consumer for minutes; with a lease
 * it is delivered again within LEASE_MS of the last renewal.
 */
import type { MessageView, SimpleConsumer } from 'rocketmq-client-nodejs';
import type { Logger } from 'pino';

/** The broker-side invisible time of a receive and of each renewal (≥ the proxy's 10 s minimum for a receive). */
export const LEASE_MS = 15_000;
/** A lease is renewed once less than this is left of it. */
const RENEW_MARGIN_MS = 5000;
/** How often the leases are looked at. */
const TICK_MS = 1000;

interface Held {
  readonly view: MessageView;
  /** Until when the stream asked for it to be invisible (its hold). */
  readonly wantedUntil: number;
  /** Until when the broker holds it now. */
  leaseUntil: number;
  /** A renewal under way: the view's receipt handle changes when it ends. */
  renewing?: Promise<void>;
}

export class HeldViews {
  readonly #consumer: SimpleConsumer;
  readonly #log: Logger;
  readonly #held = new Map<string, Held>();
  readonly #timer: NodeJS.Timeout;

  constructor(consumer: SimpleConsumer, log: Logger) {
    this.#consumer = consumer;
    this.#log = log;
    this.#timer = setInterval(() => this.#renewDue(), TICK_MS);
    this.#timer.unref();
  }

  /** `handle`: the receipt handle it was received with (the stream's key for it). */
  add(handle: string, view: MessageView, receivedAt: number, wantedMs: number): void {
    this.#held.set(handle, { view, wantedUntil: receivedAt + wantedMs, leaseUntil: receivedAt + LEASE_MS });
  }

  /** Takes it out of renewal; answers the view once a renewal under way has ended (its handle current). */
  async take(handle: string): Promise<MessageView | undefined> {
    const h = this.#held.get(handle);
    this.#held.delete(handle);
    await h?.renewing;
    return h?.view;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#held.clear();
  }

  #renewDue(): void {
    const now = Date.now();
    for (const h of this.#held.values()) {
      if (h.renewing !== undefined || h.leaseUntil - now > RENEW_MARGIN_MS) continue;
      // the stream's hold is over, or the broker has it back already: no more renewals (it stays
      // here until settled, so that a late ack still goes to the broker, which refuses it)
      if (now >= h.wantedUntil || now >= h.leaseUntil) continue;
      const ms = Math.min(LEASE_MS, h.wantedUntil - now);
      h.renewing = this.#consumer
        .changeInvisibleDuration(h.view, ms) // the client stores the new receipt handle on the view
        .then(
          () => void (h.leaseUntil = now + ms),
          (err: unknown) => {
            // broker away or handle outdated by a restart: tried again next tick while the lease lasts
            this.#log.debug({ err, msgId: h.view.messageId }, 'renewing an invisible time failed');
          },
        )
        .finally(() => (h.renewing = undefined));
    }
  }
}
