/**
 * The core's POP over a backend that has none (or a route that hands POP to the core):
 * receive with invisible time, receipt handles, ack, nack with the group's retry and DLQ,
 * changeInvisibleDuration — with the same rules and errors as the embedded log's POP. Retry
 * copies and dead letters live in the gateway's log (the broker core's %RETRY% and %DLQ%
 * topics); a topic's retries are received through the broker before the stream's messages.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type {
  Broker,
  GroupConfig,
  NackOutcome,
  ReceiveOptions,
  ReceivedMessage,
} from '../../broker/index.js';
import { ConsumeMode, compileFilter, exhausted, retryLevel } from '../../broker/index.js';
import type { CompiledFilter, FilterSpec } from '../../broker/index.js';
import { MqgateError } from '../../errors.js';
import type { Backend } from '../backends.js';
import { supportOf, unsupported } from '../capabilities.js';
import type { Held } from './pop-lane.js';
import { PopLane, parseCoreHandle, received } from './pop-lane.js';
import { PopJournal } from './pop-journal.js';

const NO_EMULATION: ReadonlySet<string> = new Set();

/** Which of the group's features the core supplies on this topic. */
export interface CoreDuties {
  readonly retry: boolean;
  readonly filter: boolean;
  readonly orderly: boolean;
}

export class CorePop {
  readonly #broker: Broker;
  readonly #journal: PopJournal;
  readonly #credit: number;
  readonly #idleMs: number;
  readonly #sweep: NodeJS.Timeout;
  readonly #log: Logger;
  readonly #lanes = new Map<
    string,
    { lane: PopLane; group: string; topic: string; duties: CoreDuties; subscription: string }
  >();
  readonly #filters = new Map<string, CompiledFilter>();

  constructor(o: { broker: Broker; dataDir: string; credit: number; idleMs: number; log: Logger }) {
    this.#broker = o.broker;
    this.#journal = new PopJournal(path.join(o.dataDir, 'core'));
    this.#credit = o.credit;
    this.#log = o.log.child({ component: 'core-pop' });
    this.#idleMs = o.idleMs;
    this.#sweep = setInterval(() => void this.#closeIdle(), Math.min(5000, Math.max(100, o.idleMs / 2)));
    this.#sweep.unref();
  }

  /**
   * A lane no receive took from for idleMs, with nothing out, is closed: what it read ahead goes
   * back to the broker, for the group's other consumers (a push subscriber, another gateway).
   */
  async #closeIdle(): Promise<void> {
    const old = Date.now() - this.#idleMs;
    for (const [key, e] of this.#lanes)
      if (e.lane.lastTake < old && e.lane.out === 0) {
        this.#lanes.delete(key);
        await e.lane.close().catch((err: unknown) => this.#log.warn({ err }, 'closing an idle lane'));
      }
  }

  /**
   * The lane of a group on a topic; opened on first use. `member`: a broadcasting consumer,
   * which the broker sees as a group of its own. `filter`: the subscription, when the broker
   * filters (by tag) itself; a changed one opens the lane anew (what was out comes again).
   */
  async lane(
    b: Backend,
    g: GroupConfig,
    topic: string,
    duties: CoreDuties,
    member = '',
    filter?: FilterSpec,
  ): Promise<PopLane> {
    const group = member === '' ? g.name : `${g.name}%${member}`;
    const key = `${b.name}\u0001${group}\u0001${topic}`;
    const brokerFilter = duties.filter || filter?.type !== 'TAG' ? undefined : filter;
    const subscription = brokerFilter?.expression ?? '*';
    const known = this.#lanes.get(key);
    if (known !== undefined && known.subscription === subscription) return known.lane;
    if (known !== undefined) {
      this.#lanes.delete(key);
      await known.lane.close();
    }
    const from =
      g.consumeFrom === 'TIMESTAMP' ? (g.consumeTimestamp ?? Date.now() - 1_800_000) : g.consumeFrom;
    const start = supportOf(b.caps, 'startPosition', NO_EMULATION);
    if (start.support === 'none' && from !== 'LAST')
      throw unsupported(
        'startPosition',
        b.name,
        `${start.how}; group "${g.name}" starts at ${g.consumeFrom}: make it consumeFrom LAST`,
      );
    await b.adapter.ensureTopic(topic, this.#broker.topics.get(topic)?.queues ?? 0);
    await b.adapter.ensureGroup(group, topic, {
      orderly: !duties.orderly && g.orderly,
      member: member !== '',
      filter: brokerFilter,
      from,
    });
    const again = this.#lanes.get(key);
    if (again !== undefined && again.subscription === subscription) return again.lane;
    const lane = new PopLane({
      key,
      stream: b.adapter.consume(group, topic, {
        credit: this.#credit,
        from,
        orderly: !duties.orderly && g.orderly,
        filter: brokerFilter,
      }),
      journal: this.#journal,
      log: this.#log,
      orderly: duties.orderly && g.orderly,
      onExpired: (l, h) => void this.#expired(l, g.name, topic, h, duties),
    });
    this.#lanes.set(key, { lane, group: g.name, topic, duties, subscription });
    return lane;
  }

  /** Receives as the embedded log's POP does: the broker checks the request and gives retries first. */
  async receive(
    b: Backend,
    group: string,
    o: ReceiveOptions,
    duties: CoreDuties,
  ): Promise<ReceivedMessage[]> {
    const max = o.maxMessages ?? 32;
    const invisibleMs = o.invisibleMs ?? this.#broker.options.defaultInvisibleMs;
    const filter = duties.filter && o.filter !== undefined ? this.#compiled(o.filter) : undefined;
    const lane = await this.lane(b, this.#group(group), o.topic, duties, '', o.filter);
    const deadline = Date.now() + (o.waitMs ?? 0);
    for (;;) {
      const out = await this.#broker.receiveRetries(group, o); // checks the request, too
      for (const h of lane.take(max - out.length, invisibleMs, filter)) out.push(received(h, o.topic));
      const left = deadline - Date.now();
      if (out.length > 0 || left <= 0 || o.signal?.aborted === true) return out;
      // the stream wakes the wait; retries due in the log are looked at every 250 ms
      await lane.waitReady(Math.min(left, 250), o.signal);
    }
  }

  #group(name: string): GroupConfig {
    const g = this.#broker.groups.get(name) ?? this.#broker.upsertGroup(name);
    return g;
  }

  #compiled(spec: NonNullable<ReceiveOptions['filter']>): CompiledFilter {
    const key = `${spec.type}\u0000${spec.expression ?? ''}`;
    let f = this.#filters.get(key);
    if (f === undefined) this.#filters.set(key, (f = compileFilter(spec)));
    return f;
  }

  /** `group`: the lane's broker-side group (a broadcasting consumer's own); answers the real one. */
  #held(
    b: Backend,
    group: string,
    topic: string,
    handle: string,
  ): { lane: PopLane; h: Held; duties: CoreDuties; group: string } {
    const p = parseCoreHandle(handle);
    if (p === undefined)
      throw new MqgateError('MQ_ERR_RECEIPT_INVALID', 'not a receipt handle of this gateway');
    const e = this.#lanes.get(`${b.name}\u0001${group}\u0001${topic}`);
    if (e === undefined)
      throw new MqgateError(
        'MQ_ERR_RECEIPT_EXPIRED',
        `no delivery of "${topic}" is out to group "${group}" here`,
      );
    return { lane: e.lane, h: e.lane.resolve(p.msgId, p.version), duties: e.duties, group: e.group };
  }

  async ack(b: Backend, group: string, topic: string, handle: string): Promise<void> {
    const { lane, h } = this.#held(b, group, topic, handle);
    await lane.finish(h);
  }

  /** As the log's nack: retry after the back-off, DLQ when used up, suspend (orderly), drop (broadcasting). */
  async nack(
    b: Backend,
    group: string,
    topic: string,
    handle: string,
    o: { delayLevel?: number },
  ): Promise<NackOutcome> {
    const { lane, h, duties, group: name } = this.#held(b, group, topic, handle);
    if (o.delayLevel !== undefined) this.#broker.levels.check(o.delayLevel);
    const g = this.#group(name);
    if (g.consumeMode === ConsumeMode.BROADCASTING) {
      await lane.finish(h);
      return 'DROPPED';
    }
    if (g.orderly && !exhausted(g, h.attempt - 1)) {
      // held here (the broker's orderly queue waits for it), out again after the suspension
      const wait = o.delayLevel === undefined ? g.suspendMs : this.#broker.levels.delayOf(o.delayLevel);
      lane.change(h, Date.now() + wait);
      return 'SUSPENDED';
    }
    if (!duties.retry) {
      // the broker's retry: a copy after the group's back-off, or its DLQ
      const deadLetter = exhausted(g, h.attempt - 1);
      await h.d.nack(
        deadLetter
          ? { deadLetter }
          : { delayLevel: o.delayLevel ?? retryLevel(g, h.attempt - 1, this.#broker.levels) },
      );
      lane.forget(h);
      return deadLetter ? 'DLQ' : 'RETRY';
    }
    const outcome = await this.#broker.sendBack(name, this.#failed(h, topic), o);
    await lane.finish(h);
    return outcome;
  }

  /** Gives a hand-out back at once (a push subscriber left): out again to the next receive. */
  release(b: Backend, group: string, topic: string, handle: string): void {
    const { lane, h } = this.#held(b, group, topic, handle);
    lane.again(h);
  }

  /** Ends a broadcasting consumer's lane (its subscription closed). */
  async closeMember(b: Backend, group: string, topic: string, member: string): Promise<void> {
    const key = `${b.name}\u0001${group}%${member}\u0001${topic}`;
    const e = this.#lanes.get(key);
    this.#lanes.delete(key);
    await e?.lane.close();
  }

  /** A filter compiled once (a subscriber sends it with every receive). */
  compiled(spec: NonNullable<ReceiveOptions['filter']>): CompiledFilter {
    return this.#compiled(spec);
  }

  changeInvisibleDuration(
    b: Backend,
    group: string,
    topic: string,
    handle: string,
    invisibleMs: number,
  ): { receiptHandle: string; invisibleUntil: number } {
    const { min, max } = {
      min: this.#broker.options.minInvisibleMs,
      max: this.#broker.options.maxInvisibleMs,
    };
    if (!Number.isInteger(invisibleMs) || invisibleMs < min || invisibleMs > max)
      throw new MqgateError(
        'MQ_ERR_INVISIBLE_TIME_INVALID',
        `${invisibleMs} ms is outside ${min}..${max} ms`,
        {
          details: { min, max },
        },
      );
    const { lane, h } = this.#held(b, group, topic, handle);
    lane.change(h, Date.now() + invisibleMs);
    return { receiptHandle: received(h, topic).receiptHandle, invisibleUntil: h.until };
  }

  /** An invisible time passed: in place for orderly and broadcasting groups, else counted as a failure. */
  async #expired(lane: PopLane, group: string, topic: string, h: Held, duties: CoreDuties): Promise<void> {
    const g = this.#group(group);
    try {
      if (g.orderly || g.consumeMode === ConsumeMode.BROADCASTING || !exhausted(g, h.attempt - 1)) {
        if (duties.retry || g.orderly) lane.again(h);
        else await lane.giveBack(h); // the broker's own retry counts it
        return;
      }
      if (duties.retry) {
        await this.#broker.sendBack(group, this.#failed(h, topic), { deadLetter: true });
        await lane.finish(h);
      } else {
        await h.d.nack({ deadLetter: true });
        lane.forget(h);
      }
    } catch (err) {
      this.#log.error(
        { err, group, topic, msgId: h.m.msgId },
        'an expired delivery could not be moved; it goes out again',
      );
      lane.again(h);
    }
  }

  /** The message as the retry and DLQ copies take it: its topic, and the failures so far. */
  #failed(h: Held, topic: string): ReceivedMessage {
    return { ...received(h, topic), reconsumeTimes: h.attempt - 1 };
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep);
    await Promise.all([...this.#lanes.values()].map((e) => e.lane.close()));
    this.#lanes.clear();
    this.#journal.close();
  }
}
