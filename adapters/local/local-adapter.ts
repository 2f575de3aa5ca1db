/**
 * The embedded log and the broker core as a backend: every feature native, because the core
 * is its broker. The gateway calls the Broker itself on the send and push paths of `local`
 * topics (they are tuned per message); everything else, and every SPI client (conformance,
 * migrate, compare), goes through this adapter.
 */
import type { Broker } from '../../src/broker/index.js';
import type {
  BrokerAdapter,
  Capabilities,
  ConsumeOptions,
  DeliveryStream,
  Extras,
  Health,
  OutboundMessage,
  SendReceipt,
} from '../spi.js';
import { PopStream } from '../shared/pop-stream.js';

const HOW = {
  delayLevels: 'SCHEDULE_TOPIC_XXXX, one service per level',
  timers: 'timer topic and heap, ms precision',
  transactions: 'half and op topics, check-back service',
  pop: 'receipt handles, revive service',
  retry: '%RETRY%{group} at the group back-off',
  deadLetter: '%DLQ%{group}',
  broadcasting: 'offsets per client',
  orderly: 'one in flight per queue',
  tagFilter: 'tag hash in the ConsumeQueue, then the string',
  sqlFilter: 'SQL92 while reading',
  startPosition: 'FIRST, LAST or TIMESTAMP',
  seek: 'ConsumeQueue offsets',
  keyQuery: 'KeyIndex',
} as const;

export class LocalAdapter implements BrokerAdapter {
  readonly type = 'local';
  readonly extras: Extras;
  readonly #broker: Broker;
  readonly #caps: Capabilities;

  constructor(broker: Broker) {
    this.#broker = broker;
    const b = broker;
    this.#caps = {
      features: Object.fromEntries(
        Object.entries(HOW).map(([f, how]) => [f, { support: 'native' as const, how }]),
      ),
      maxMessageSize: b.store.options.maxMessageSize,
    };
    this.extras = {
      pop: {
        receive: (group, o) => b.receive(group, o),
        ack: async (group, topic, handle) => b.ack(group, topic, handle),
        nack: (group, topic, handle, o) => b.nack(group, topic, handle, o),
        changeInvisibleDuration: async (group, topic, handle, ms) =>
          b.changeInvisibleDuration(group, topic, handle, ms),
      },
      transactions: {
        prepare: (topic, producerGroup, m) => b.prepare(topic, producerGroup, m),
        commit: (id) => b.commit(id),
        rollback: (id) => b.rollback(id),
        setChecker: (checker) => b.setTransactionChecker(checker),
      },
      seek: {
        pull: (topic, queueId, offset, max) => b.pull(topic, queueId, offset, max),
        queueOffsets: async (topic) => b.getTopic(topic)?.queueOffsets ?? [],
        offsets: (group, topic, o) => b.offsets(group, topic, o),
        commitOffset: (group, topic, queueId, offset, o) => b.commitOffset(group, topic, queueId, offset, o),
        resetOffsets: async (group, topic, to, o) => {
          await b.resetOffsets(group, topic, to, o);
        },
        offsetAt: (topic, queueId, time) => b.store.offsetByTime(topic, queueId, time),
      },
      keyQuery: {
        byMsgId: (msgId) => b.getMessage(msgId),
        byKey: (topic, key, o) => b.queryByKey(topic, key, o),
      },
      deadLetter: {
        list: (group, o) => b.deadLetters(group, o),
        resend: (group, msgId) => b.resendDeadLetter(group, msgId),
      },
    };
  }

  capabilities(): Capabilities {
    return this.#caps;
  }

  /** The gateway opens and closes the broker: it is the core as well. */
  async connect(): Promise<void> {}

  async close(): Promise<void> {}

  health(): Health {
    return this.#broker.closed ? { status: 'down', lastError: 'the broker is closed' } : { status: 'up' };
  }

  async ensureTopic(topic: string, queues: number): Promise<void> {
    const t = this.#broker.topics.get(topic);
    if (t === undefined || t.queues < queues) this.#broker.upsertTopic(topic, { queues });
  }

  /** Groups are the gateway's own registry: made by consume() where missing, from `from`. */
  async ensureGroup(): Promise<void> {}

  send(topic: string, batch: readonly OutboundMessage[]): Promise<SendReceipt[]> {
    return Promise.all(batch.map((m) => this.#broker.send(topic, m)));
  }

  consume(group: string, topic: string, o: ConsumeOptions): DeliveryStream {
    const b = this.#broker;
    if (b.groups.get(group) === undefined)
      b.upsertGroup(
        group,
        typeof o.from === 'number'
          ? { consumeFrom: 'TIMESTAMP', consumeTimestamp: o.from }
          : { consumeFrom: o.from ?? 'LAST' },
      );
    return new PopStream(
      {
        receive: (r) => b.receive(group, { ...r, filter: o.filter }),
        ack: (handle) => b.ack(group, topic, handle),
        nack: (handle, n) => b.nack(group, topic, handle, n),
        release: (handle) => b.release(group, topic, handle),
      },
      topic,
      o.credit,
    );
  }
}
