/**
 * The forwarding service of one backend's backlog (a named loop, `saf-forward-{backend}`): while
 * the backend is up, reads the backlog in order and sends it on, one confirmed batch per run of
 * records for the same topic, and moves the backlog's position past a batch only once the broker
 * confirmed it. A batch keeps its order per queue, and batches go one after the other, so each
 * queue gets its messages in the order they were accepted. Runs when woken (a message was
 * accepted, the health check found the backend up) and every `intervalMs`.
 *
 * A failure a later try may cure (the broker went down again, no confirm) stops the run: the
 * same records are sent again later, so the broker may see a message twice, never miss one. A
 * message the broker refuses for good (its own limits) is logged with its msgId and skipped,
 * so that it does not hold up the backend's whole backlog.
 */
import type { Logger } from 'pino';
import type { OutboundMessage } from '../../../adapters/index.js';
import { isMqgateError } from '../../errors.js';
import type { StoredMessage } from '../../message/message.js';
import { LoopService } from '../../store/service.js';
import type { Backlog } from './backlog.js';
import { backlogTarget, outboundOf } from './backlog-record.js';

/** Sends a batch to a topic of the backlog's backend; resolves once the broker confirmed all. */
export type Deliver = (topic: string, batch: readonly OutboundMessage[]) => Promise<void>;

export interface ForwarderOptions {
  readonly intervalMs: number;
  readonly log: Logger;
  /** Whether the backend is up now. */
  readonly up: () => boolean;
  readonly deliver: Deliver;
  /** Largest sum of bodies in one batch (the backend's maxMessageSize; one message may be alone over it). */
  readonly maxBatchBytes: number;
}

/** Records read per round, and at most this many in one batch to the broker. */
const READ_MAX = 256;
const BATCH_MAX = 64;

interface Run {
  readonly topic: string | undefined; // undefined: a record that is not a backlog record
  readonly records: StoredMessage[];
  readonly out: OutboundMessage[];
}

export class BacklogForwarder {
  readonly #backlog: Backlog;
  readonly #o: ForwarderOptions;
  readonly #service: LoopService;
  readonly #log: Logger;
  #stopped = true;

  constructor(backlog: Backlog, o: ForwarderOptions) {
    this.#backlog = backlog;
    this.#o = o;
    this.#log = o.log.child({ backend: backlog.backend });
    this.#service = new LoopService(`saf-forward-${backlog.backend}`, o.intervalMs, o.log, () => this.#run());
  }

  start(): void {
    this.#stopped = false;
    this.#service.start();
    this.#service.wakeup();
  }

  wakeup(): void {
    this.#service.wakeup();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#service.stop();
  }

  async #run(): Promise<void> {
    try {
      while (!this.#stopped && this.#backlog.messages > 0 && this.#o.up()) {
        const records = await this.#backlog.read(READ_MAX);
        if (records.length === 0) return; // accepted, not readable yet: the append wakes us again
        for (const run of this.#runs(records)) if (this.#stopped || !(await this.#forward(run))) return;
      }
    } finally {
      await this.#backlog.save();
    }
  }

  /** Consecutive records for the same topic, in batches within BATCH_MAX and maxBatchBytes. */
  #runs(records: readonly StoredMessage[]): Run[] {
    const runs: Run[] = [];
    let cur: Run | undefined;
    let bytes = 0;
    for (const r of records) {
      const to = backlogTarget(r);
      const size = r.body.length;
      if (
        cur === undefined ||
        to === undefined ||
        cur.topic !== to.topic ||
        cur.records.length >= BATCH_MAX ||
        bytes + size > this.#o.maxBatchBytes
      ) {
        runs.push((cur = { topic: to?.topic, records: [], out: [] }));
        bytes = 0;
      }
      cur.records.push(r);
      if (to !== undefined) cur.out.push(outboundOf(r, to.queueId));
      bytes += size;
      if (to === undefined) cur = undefined; // alone in its run
    }
    return runs;
  }

  /** Sends a run; false when it is to be tried again later (the run stops there). */
  async #forward(run: Run): Promise<boolean> {
    if (run.topic === undefined) {
      this.#log.error({ msgId: run.records[0]?.msgId }, 'not a backlog record: skipped');
      await this.#backlog.done(run.records, false);
      return true;
    }
    try {
      await this.#o.deliver(run.topic, run.out);
    } catch (err) {
      if (!isMqgateError(err) || err.retriable) {
        this.#log.warn({ err, topic: run.topic }, 'backlog not forwarded yet; tried again later');
        return false;
      }
      if (run.records.length > 1) {
        // one message the broker refuses: the others of the batch still go, one by one
        for (const [i, r] of run.records.entries()) {
          const one = { topic: run.topic, records: [r], out: [run.out[i] as OutboundMessage] };
          if (!(await this.#forward(one))) return false;
        }
        return true;
      }
      const msgId = run.records[0]?.msgId;
      this.#log.error({ err, topic: run.topic, msgId }, 'backlog message refused by the backend: skipped');
      await this.#backlog.done(run.records, false);
      return true;
    }
    await this.#backlog.done(run.records, true);
    return true;
  }
}
