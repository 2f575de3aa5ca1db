/**
 * Store-and-forward for the topics of routes that ask for it (`storeAndForward: true`): while a
 * topic's backend is down, or while its queue still has older messages waiting, a send is
 * written to the backend's backlog in the gateway's log and answered SEND_OK (queueOffset -1:
 * the broker gives the offset when it gets the message) once the log's flush policy is met; a
 * {@link BacklogForwarder} per backend sends the backlog on, in order per queue, when the
 * backend is up. Without the option a send to a backend that is down fails at once with 503.
 */
import type { Logger } from 'pino';
import type { OutboundMessage } from '../../../adapters/index.js';
import type { Broker, SendResult } from '../../broker/index.js';
import { SendStatus } from '../../broker/index.js';
import { sendError } from '../../broker/send.js';
import type { MqgateError } from '../../errors.js';
import { isMqgateError } from '../../errors.js';
import type { Backend, Backends } from '../backends.js';
import type { BacklogStats } from './backlog.js';
import { Backlog } from './backlog.js';
import { BacklogForwarder } from './backlog-forwarder.js';
import type { RemoteTopic } from './remote-producer.js';

export interface StoreAndForwardOptions {
  readonly broker: Broker;
  readonly backends: Backends;
  readonly dataDir: string;
  readonly log: Logger;
  /** How often each forwarder looks at its backlog when not woken (ms). */
  readonly intervalMs: number;
  /** Sends a batch to a topic of a backend, confirmed (and indexed where the core keeps the key index). */
  readonly deliver: (b: Backend, topic: string, batch: readonly OutboundMessage[]) => Promise<void>;
}

const NONE: BacklogStats = { messages: 0, forwarded: 0 };

/** True for a failure of a backend that a store-and-forward route rides out: it is down or did not confirm. */
export function isOutage(err: unknown): err is MqgateError {
  return isMqgateError(err) && err.retriable && (err.statusCode === 503 || err.statusCode === 504);
}

export class StoreAndForward {
  readonly #lanes = new Map<string, { backlog: Backlog; forwarder: BacklogForwarder }>();
  readonly #backends: Backends;

  constructor(o: StoreAndForwardOptions) {
    this.#backends = o.backends;
    const log = o.log.child({ component: 'store-and-forward' });
    for (const b of o.backends.list()) {
      if (b.local) continue;
      const backlog = new Backlog(o.broker, b.name, o.dataDir, log);
      const forwarder = new BacklogForwarder(backlog, {
        intervalMs: o.intervalMs,
        log,
        up: () => !o.backends.isDown(b),
        deliver: (topic, batch) => o.deliver(b, topic, batch),
        maxBatchBytes: b.caps.maxMessageSize,
      });
      this.#lanes.set(b.name, { backlog, forwarder });
    }
    o.backends.onUp((b) => {
      const lane = this.#lanes.get(b.name);
      if (lane !== undefined && lane.backlog.messages > 0) lane.forwarder.wakeup();
    });
  }

  /** Reads each backlog's position and what waits past it, then starts the forwarders. */
  async open(): Promise<void> {
    for (const lane of this.#lanes.values()) await lane.backlog.open();
    for (const lane of this.#lanes.values()) lane.forwarder.start();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#lanes.values()].map((l) => l.forwarder.stop()));
  }

  /** True when a send to this queue must go through the backlog: older messages of it wait there. */
  holds(t: RemoteTopic, queueId: number): boolean {
    return this.#lanes.get(t.backend.name)?.backlog.holds(t.name, queueId) ?? false;
  }

  /**
   * Writes messages to their backend's backlog; each result once the log's flush policy is met.
   *
   * @throws MqgateError as a send to the embedded log (`MQ_ERR_MESSAGE_ILLEGAL`, `MQ_ERR_STORE_IO`, ...)
   */
  async accept(t: RemoteTopic, out: readonly OutboundMessage[]): Promise<SendResult[]> {
    const lane = this.#lanes.get(t.backend.name);
    if (lane === undefined) throw new Error(`no backlog for backend ${t.backend.name}`);
    const results = await lane.backlog.append(t.name, out);
    if (!this.#backends.isDown(t.backend)) lane.forwarder.wakeup();
    return results.map((r, i) => {
      if (r.status !== 'PUT_OK' && r.status !== 'FLUSH_DISK_TIMEOUT') throw sendError(r);
      const o = out[i] as OutboundMessage;
      const status = r.status === 'PUT_OK' ? SendStatus.SEND_OK : SendStatus.FLUSH_DISK_TIMEOUT;
      return { status, msgId: o.msgId, topic: t.name, queueId: o.queueId, queueOffset: -1 };
    });
  }

  /** A backend's backlog: messages waiting, the oldest one's time, messages forwarded. */
  stats(backend: string): BacklogStats {
    return this.#lanes.get(backend)?.backlog.stats() ?? NONE;
  }
}
