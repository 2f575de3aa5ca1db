/**
 * Queries the gateway answers over every backend: a message by msgId or key (the embedded
 * log, the core's key index of other backends, or a backend's own), and the dead letters of a
 * group (the core's, and those of backends that keep a DLQ of their own).
 */
import type { BrokerAdapter } from '../../adapters/index.js';
import type { Broker, SendResult } from '../broker/index.js';
import { MqgateError } from '../errors.js';
import type { StoredMessage } from '../message/index.js';
import type { Backends } from './backends.js';
import { supportOf, unsupported } from './capabilities.js';
import { backloggedMessage } from './core/backlog-record.js';
import { indexKey, indexedAt, metadataOf } from './core/key-index.js';
import type { RemoteTopic } from './core/remote-producer.js';

const NO_EMULATION: ReadonlySet<string> = new Set();

export class GatewayQueries {
  readonly #broker: Broker;
  readonly #backends: Backends;
  /** Resolves once the key index records of the sends answered so far are written. */
  readonly #indexing: () => Promise<void>;

  constructor(broker: Broker, backends: Backends, indexed: () => Promise<void>) {
    this.#broker = broker;
    this.#backends = backends;
    this.#indexing = indexed;
  }

  async getMessage(msgId: string): Promise<StoredMessage | undefined> {
    await this.#indexing();
    const m = await this.#broker.getMessage(msgId);
    return m === undefined ? undefined : this.#indexed(m);
  }

  /** `r`: the topic when it lives on another backend. */
  queryByKey(
    topic: string,
    r: RemoteTopic | undefined,
    key: string,
    o: { begin?: number; end?: number; max?: number },
  ): Promise<StoredMessage[]> {
    if (r === undefined) return this.#broker.queryByKey(topic, key, o);
    const s = supportOf(r.backend.caps, 'keyQuery', r.emulate);
    const native = r.backend.adapter.extras.keyQuery;
    if (s.support === 'native' && native !== undefined) return native.byKey(topic, key, o);
    if (s.support === 'none') throw unsupported('keyQuery', r.backend.name, s.how);
    const k = indexKey(topic, key);
    return this.#indexing()
      .then(() => this.#broker.store.queryByKey(k.topic, k.key, o))
      .then((found) => Promise.all(found.map((m) => this.#indexed(m))));
  }

  /**
   * A record of the core's key index as its message: read from its backend where it can seek.
   * A message still in a store-and-forward backlog is answered from there.
   */
  async #indexed(m: StoredMessage): Promise<StoredMessage> {
    const waiting = backloggedMessage(m);
    if (waiting !== undefined) return waiting;
    const at = indexedAt(m);
    if (at === undefined) return m;
    const seek = this.#backends.get(at.backend)?.adapter.extras.seek;
    if (seek !== undefined) {
      // where the broker gave no offset at the confirm, look from the message's born time on
      const known = at.queueOffset >= 0;
      const r = await (
        known ? Promise.resolve(at.queueOffset) : seek.offsetAt(at.topic, at.queueId, m.bornTimestamp)
      )
        .then((offset) => seek.pull(at.topic, at.queueId, offset, known ? 1 : 64))
        .catch(() => undefined);
      const found = r?.messages.find((x) => x.msgId === m.msgId);
      if (found !== undefined) return found;
    }
    return metadataOf(m);
  }

  /**
   * A group's dead letters: those the core keeps in the log, then those of each backend with a
   * DLQ of its own (a group may consume topics of several backends), paged over all of them.
   */
  async deadLetters(group: string, o: { offset?: number; max?: number } = {}): Promise<StoredMessage[]> {
    const offset = o.offset ?? 0;
    const max = o.max ?? 32;
    const all = await this.#broker.deadLetters(group, { offset: 0, max: offset + max });
    for (const dlq of this.#nativeDeadLetters()) {
      if (all.length >= offset + max) break;
      const more = await dlq.list(group, { offset: 0, max: offset + max - all.length }).catch(() => []);
      all.push(...more);
    }
    return all.slice(offset, offset + max);
  }

  async resendDeadLetter(group: string, msgId: string): Promise<SendResult> {
    try {
      return await this.#broker.resendDeadLetter(group, msgId);
    } catch (e) {
      if (!(e instanceof MqgateError) || e.code !== 'MQ_ERR_MSG_NOT_FOUND') throw e;
      for (const dlq of this.#nativeDeadLetters())
        if ((await dlq.list(group, { max: 10_000 }).catch(() => [])).some((m) => m.msgId === msgId))
          return dlq.resend(group, msgId);
      throw e;
    }
  }

  /** The dead-letter queues of the backends that keep them themselves. */
  #nativeDeadLetters(): NonNullable<BrokerAdapter['extras']['deadLetter']>[] {
    return this.#backends
      .list()
      .filter(
        (b) =>
          !b.local && b.status === 'up' && supportOf(b.caps, 'deadLetter', NO_EMULATION).support === 'native',
      )
      .flatMap((b) => (b.adapter.extras.deadLetter === undefined ? [] : [b.adapter.extras.deadLetter]));
  }
}
