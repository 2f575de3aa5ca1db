/**
 * Consumption of topics on other backends: each call goes to the adapter's native extra where
 * the topic's backend has the feature (and its route does not hand it to the core), to the
 * core's POP over the broker's stream where it does not, and is refused (422) where no one can.
 */
import type { Logger } from 'pino';
import type {
  Broker,
  NackOutcome,
  OffsetTarget,
  QueueOffset,
  ReceiveOptions,
  ReceivedMessage,
  SubscribeOptions,
} from '../../broker/index.js';
import { ConsumeMode } from '../../broker/index.js';
import { MqgateError } from '../../errors.js';
import type { GetMessageResult } from '../../store/index.js';
import type { Feature } from '../../../adapters/index.js';
import { supportOf, unsupported } from '../capabilities.js';
import type { GatewaySubscription } from '../contract.js';
import type { CoreDuties, CorePop } from './core-pop.js';
import { CoreSubscription } from './core-push.js';
import { DirectSubscription } from './direct-push.js';
import { parseCoreHandle } from './pop-lane.js';
import type { RemoteTopic } from './remote-producer.js';

export class RemoteConsume {
  readonly #broker: Broker;
  readonly #pop: CorePop;
  readonly #log: Logger;

  constructor(broker: Broker, pop: CorePop, log: Logger) {
    this.#broker = broker;
    this.#pop = pop;
    this.#log = log;
  }

  /** Whether the broker does `f` on this topic; throws the 422 when no one can. */
  #native(t: RemoteTopic, f: Feature): boolean {
    const s = supportOf(t.backend.caps, f, t.emulate);
    if (s.support === 'none') throw unsupported(f, t.backend.name, s.how);
    return s.support === 'native';
  }

  #duties(t: RemoteTopic, filter: ReceiveOptions['filter'], group: string): CoreDuties {
    const g = this.#broker.groups.get(group);
    if (g?.orderly === true) this.#native(t, 'orderly');
    if (g?.consumeMode === ConsumeMode.BROADCASTING) this.#native(t, 'broadcasting');
    const filterFeature =
      filter === undefined ? undefined : filter.type === 'SQL92' ? 'sqlFilter' : 'tagFilter';
    return {
      retry: !this.#native(t, 'retry'),
      filter: filterFeature !== undefined && !this.#native(t, filterFeature),
      orderly: !this.#native(t, 'orderly'),
    };
  }

  receive(t: RemoteTopic, group: string, o: ReceiveOptions): Promise<ReceivedMessage[]> {
    const pop = t.backend.adapter.extras.pop;
    if (pop !== undefined && this.#native(t, 'pop')) return pop.receive(group, o);
    return this.#pop.receive(t.backend, group, o, this.#duties(t, o.filter, group));
  }

  /** A core handle (`p.`), the broker's own (native POP), or a retry copy the core keeps in the log. */
  async ack(t: RemoteTopic, group: string, handle: string): Promise<void> {
    if (parseCoreHandle(handle) !== undefined) return this.#pop.ack(t.backend, group, t.name, handle);
    const pop = t.backend.adapter.extras.pop;
    if (pop !== undefined && this.#native(t, 'pop')) return pop.ack(group, t.name, handle);
    this.#broker.ack(group, t.name, handle);
  }

  async nack(
    t: RemoteTopic,
    group: string,
    handle: string,
    o: { delayLevel?: number },
  ): Promise<NackOutcome> {
    if (parseCoreHandle(handle) !== undefined) return this.#pop.nack(t.backend, group, t.name, handle, o);
    const pop = t.backend.adapter.extras.pop;
    if (pop !== undefined && this.#native(t, 'pop')) return pop.nack(group, t.name, handle, o);
    return this.#broker.nack(group, t.name, handle, o);
  }

  async changeInvisibleDuration(
    t: RemoteTopic,
    group: string,
    handle: string,
    ms: number,
  ): Promise<{ receiptHandle: string; invisibleUntil: number }> {
    if (parseCoreHandle(handle) !== undefined)
      return this.#pop.changeInvisibleDuration(t.backend, group, t.name, handle, ms);
    const pop = t.backend.adapter.extras.pop;
    if (pop !== undefined && this.#native(t, 'pop'))
      return pop.changeInvisibleDuration(group, t.name, handle, ms);
    return this.#broker.changeInvisibleDuration(group, t.name, handle, ms);
  }

  subscribe(t: RemoteTopic, group: string, o: SubscribeOptions): GatewaySubscription {
    const credit = o.credit ?? this.#broker.options.defaultCredit;
    if (!Number.isInteger(credit) || credit < 1 || credit > 10_000)
      throw new MqgateError('MQ_ERR_GROUP_INVALID', `credit must be 1..10000, got ${credit}`);
    const g = this.#broker.groups.get(group) ?? this.#broker.upsertGroup(group);
    const duties = this.#duties(t, o.filter, group);
    if (o.filter !== undefined) this.#pop.compiled(o.filter); // a bad filter is refused now
    const options = { ...o, credit, ackTimeoutMs: o.ackTimeoutMs ?? this.#broker.options.pushAckTimeoutMs };
    // the broker retries, filters and orders for the group: its stream goes straight to the subscriber
    const straight = t.backend.caps.straightPush === true;
    if (straight && !duties.retry && !duties.filter && !(g.orderly && duties.orderly)) {
      if (g.consumeFrom !== 'LAST') this.#native(t, 'startPosition'); // 422 where no one can
      return new DirectSubscription({
        adapter: t.backend.adapter,
        broker: this.#broker,
        group: g,
        topic: t.name,
        queues: this.#broker.topics.get(t.name)?.queues ?? 0,
        options,
        log: this.#log,
      });
    }
    return new CoreSubscription({
      pop: this.#pop,
      broker: this.#broker,
      backend: t.backend,
      group: g,
      topic: t.name,
      options,
      duties,
      log: this.#log,
    });
  }

  #seek(t: RemoteTopic): NonNullable<RemoteTopic['backend']['adapter']['extras']['seek']> {
    const seek = t.backend.adapter.extras.seek;
    if (seek === undefined || !this.#native(t, 'seek'))
      throw unsupported('seek', t.backend.name, 'the broker cannot read by offset');
    return seek;
  }

  pull(t: RemoteTopic, queueId: number, offset: number, max: number): Promise<GetMessageResult> {
    const seek = this.#seek(t);
    const queues = this.#broker.topics.get(t.name)?.queues ?? 0;
    if (!Number.isInteger(queueId) || queueId < 0 || queueId >= queues)
      throw new MqgateError(
        'MQ_ERR_QUEUE_INVALID',
        `topic "${t.name}" has queues 0..${queues - 1}, not ${queueId}`,
      );
    if (!Number.isSafeInteger(offset) || offset < 0)
      throw new MqgateError('MQ_ERR_OFFSET_INVALID', `offset must be an integer >= 0, got ${offset}`);
    return seek.pull(t.name, queueId, offset, Math.min(Math.max(1, max), 1024));
  }

  offsets(t: RemoteTopic, group: string, o: { clientId?: string }): Promise<QueueOffset[]> {
    return this.#seek(t).offsets(group, t.name, o);
  }

  commitOffset(
    t: RemoteTopic,
    group: string,
    queueId: number,
    offset: number,
    o: { clientId?: string },
  ): Promise<void> {
    return this.#seek(t).commitOffset(group, t.name, queueId, offset, o);
  }

  async resetOffsets(
    t: RemoteTopic,
    group: string,
    to: OffsetTarget,
    o: { clientId?: string },
  ): Promise<QueueOffset[]> {
    const seek = this.#seek(t);
    await seek.resetOffsets(group, t.name, to, o);
    return seek.offsets(group, t.name, o);
  }
}
