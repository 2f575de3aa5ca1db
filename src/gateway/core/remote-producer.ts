/**
 * Sends to a topic on another backend: the core picks the queue (the same function as for the
 * embedded log, so a sharding key lands on the same queue index everywhere), stamps msgId and
 * born time, and resolves once the broker confirmed. A delay or timer the broker lacks is held
 * by the broker core's scheduler in the gateway's log and forwarded when due (see Forwarder);
 * where key query is the core's, an index record per message is written to the log.
 *
 * A backend that is down fails a send at once (503, never a wait for a broker timeout), unless
 * the topic's route has store-and-forward: then the message goes to the backend's backlog in the
 * gateway's log (see store-and-forward.ts), as do later sends to a queue that still has messages
 * waiting there; a delay the broker would keep is kept by the core's scheduler instead.
 */
import type { Logger } from 'pino';
import type { OutboundMessage, SendReceipt } from '../../../adapters/index.js';
import type { Broker, Forwarder, SendInput, SendResult } from '../../broker/index.js';
import { Prop, SendStatus } from '../../broker/index.js';
import { MqgateError } from '../../errors.js';
import type { MessageInput } from '../../message/message.js';
import { isMsgId, newMsgId } from '../../message/msg-id.js';
import { withProps } from '../../message/props.js';
import type { Backend, Backends } from '../backends.js';
import { supportOf, unsupported } from '../capabilities.js';
import { KEY_INDEX_TOPIC, indexRecord } from './key-index.js';
import type { StoreAndForward } from './store-and-forward.js';
import { isOutage } from './store-and-forward.js';

/** A topic on another backend, as the gateway routes it. */
export interface RemoteTopic {
  readonly name: string;
  readonly backend: Backend;
  readonly emulate: ReadonlySet<string>;
  /** While the backend is down, sends wait in the gateway's log (the route's storeAndForward). */
  readonly storeAndForward: boolean;
  /** A commit goes with its mark in one broker transaction (the route's transactionalCommit). */
  readonly transactionalCommit: boolean;
}

export class RemoteProducer {
  readonly #broker: Broker;
  readonly #backends: Backends;
  readonly #route: (topic: string) => RemoteTopic | undefined;
  readonly #log: Logger;
  readonly #indexing = new Set<Promise<void>>();
  readonly #saf: StoreAndForward;

  constructor(
    broker: Broker,
    backends: Backends,
    route: (topic: string) => RemoteTopic | undefined,
    saf: StoreAndForward,
    log: Logger,
  ) {
    this.#log = log.child({ component: 'remote-producer' });
    this.#broker = broker;
    this.#backends = backends;
    this.#route = route;
    this.#saf = saf;
  }

  async send(t: RemoteTopic, m: SendInput): Promise<SendResult> {
    const delay = this.#delay(t, m);
    // held by the core's scheduler in the gateway's log, forwarded when due
    if (delay === 'core') return this.#broker.send(t.name, m);
    const out = this.#outbound(t, m, delay === 'broker');
    const down = this.#backends.isDown(t.backend);
    if (t.storeAndForward) {
      if (delay === 'broker' && down) return this.#scheduled(t, m, out);
      if (delay === 'none' && (down || this.#saf.holds(t, out.queueId)))
        return (await this.#saf.accept(t, [out]))[0] as SendResult;
    } else if (down) throw this.#backends.unavailable(t.backend);
    let r: SendReceipt;
    try {
      [r] = (await this.#backends.send(t.backend, t.name, [out])) as [SendReceipt];
    } catch (err) {
      if (!t.storeAndForward || !isOutage(err)) throw err;
      if (delay === 'broker') return this.#scheduled(t, m, out);
      return (await this.#saf.accept(t, [out]))[0] as SendResult;
    }
    this.#indexed(t, [out], [r]);
    return result(t.name, out, r, delay === 'broker' ? m : undefined);
  }

  /** A batch (no delays, checked by the gateway): one confirmed send to the broker. */
  async sendBatch(t: RemoteTopic, ms: readonly SendInput[]): Promise<SendResult[]> {
    const out = ms.map((m) => this.#outbound(t, m, false));
    const down = this.#backends.isDown(t.backend);
    if (t.storeAndForward) {
      if (down || out.some((o) => this.#saf.holds(t, o.queueId))) return this.#saf.accept(t, out);
    } else if (down) throw this.#backends.unavailable(t.backend);
    let receipts: SendReceipt[];
    try {
      receipts = await this.#backends.send(t.backend, t.name, out);
    } catch (err) {
      if (!t.storeAndForward || !isOutage(err)) throw err;
      return this.#saf.accept(t, out);
    }
    this.#indexed(t, out, receipts);
    return out.map((o, i) => result(t.name, o, receipts[i] as SendReceipt, undefined));
  }

  /** A delay the broker would keep, while it is down: the core's scheduler keeps it instead. */
  #scheduled(t: RemoteTopic, m: SendInput, out: OutboundMessage): Promise<SendResult> {
    const { queueId, msgId, bornTimestamp } = out;
    return this.#broker.send(t.name, { ...m, queueId, msgId, bornTimestamp });
  }

  /** Sends backlog messages to their topic on `b` (the store-and-forward forwarder), confirmed. */
  async deliver(b: Backend, topic: string, batch: readonly OutboundMessage[]): Promise<void> {
    const receipts = await this.#backends.send(b, topic, batch);
    const t = this.#route(topic);
    if (t !== undefined && t.backend === b) await this.#indexed(t, batch, receipts);
  }

  /** Where a message's delay is kept: nowhere (none asked), by the broker, or by the core. */
  #delay(t: RemoteTopic, m: SendInput): 'none' | 'broker' | 'core' {
    const feature =
      m.delayLevel !== undefined
        ? 'delayLevels'
        : m.deliverAt !== undefined && m.deliverAt > Date.now()
          ? 'timers'
          : undefined;
    if (feature === undefined) return 'none';
    const s = supportOf(t.backend.caps, feature, t.emulate);
    if (s.support === 'none') throw unsupported(feature, t.backend.name, s.how);
    return s.support === 'native' ? 'broker' : 'core';
  }

  #outbound(t: RemoteTopic, m: SendInput, withDelay: boolean): OutboundMessage {
    if (m.msgId !== undefined && !isMsgId(m.msgId))
      throw new MqgateError('MQ_ERR_MSGID_INVALID', `"${m.msgId}" is not 32 hex characters`);
    const size = typeof m.body === 'string' ? Buffer.byteLength(m.body) : m.body.length;
    const max = t.backend.caps.maxMessageSize;
    if (size > max)
      throw new MqgateError(
        'MQ_ERR_MESSAGE_TOO_LARGE',
        `${size} bytes; backend "${t.backend.name}" takes at most ${max}`,
        {
          details: { size, maxMessageSize: max, backend: t.backend.name },
        },
      );
    return {
      queueId: this.#broker.queueFor(t.name, m),
      msgId: m.msgId?.toUpperCase() ?? newMsgId(),
      bornTimestamp: m.bornTimestamp ?? Date.now(),
      body: m.body,
      tag: m.tag,
      keys: m.keys ?? [],
      properties:
        m.shardingKey === undefined
          ? (m.properties ?? {})
          : withProps(m.properties, { [Prop.SHARDING_KEY]: m.shardingKey }),
      delayLevel: withDelay ? m.delayLevel : undefined,
      deliverAt: withDelay && m.delayLevel === undefined ? m.deliverAt : undefined,
    };
  }

  /**
   * Writes the key index records of confirmed messages. A send does not wait for them (they
   * would add a write of the gateway's log to every send's latency: 2.7-6 ms per REST send,
   * bench/backends); a query waits for those under way first (see `indexed`). A record lost
   * to a crash loses a query's answer, never a message.
   */
  #indexed(t: RemoteTopic, out: readonly OutboundMessage[], receipts: readonly SendReceipt[]): Promise<void> {
    if (supportOf(t.backend.caps, 'keyQuery', t.emulate).support !== 'emulated') return Promise.resolve();
    this.#broker.topics.system(KEY_INDEX_TOPIC);
    const written = this.#broker.store
      .putMessages(
        out.map((o, i) => indexRecord(t.backend.name, t.name, o, (receipts[i] as SendReceipt).queueOffset)),
      )
      .then((results) => {
        for (const r of results)
          if (r.status !== 'PUT_OK' && r.status !== 'FLUSH_DISK_TIMEOUT')
            this.#log.error({ topic: t.name, status: r.status }, 'a key index record was refused');
      })
      .catch((err: unknown) => this.#log.error({ err, topic: t.name }, 'key index records not written'))
      .finally(() => this.#indexing.delete(written));
    this.#indexing.add(written);
    return written;
  }

  /** Resolves once the key index records of every send answered so far are written. */
  async indexed(): Promise<void> {
    await Promise.all([...this.#indexing]);
  }

  /** The broker core's forwarder: due delays, commits and resent dead letters of remote topics. */
  readonly forwarder: Forwarder = {
    owns: (topic) => this.#route(topic) !== undefined,
    forward: async (m: MessageInput) => {
      const t = this.#route(m.topic);
      if (t === undefined) throw new MqgateError('MQ_ERR_TOPIC_NOT_FOUND', `"${m.topic}" is on no backend`);
      if (this.#backends.isDown(t.backend)) throw this.#backends.unavailable(t.backend);
      const out: OutboundMessage = {
        queueId: m.queueId,
        msgId: m.msgId ?? newMsgId(),
        bornTimestamp: m.bornTimestamp ?? Date.now(),
        // a view of the log is valid only until the next write: copied before the send yields
        body: typeof m.body === 'string' ? m.body : Buffer.from(m.body),
        tag: m.tag,
        keys: m.keys ?? [],
        properties: m.properties ?? {},
      };
      // a committed transaction's message (the only kind with a prepared transaction offset)
      const r =
        t.transactionalCommit && m.preparedTransactionOffset !== undefined
          ? await this.#backends.sendCommitted(t.backend, t.name, out)
          : ((await this.#backends.send(t.backend, t.name, [out]))[0] as SendReceipt);
      await this.#indexed(t, [out], [r]);
      return r.queueOffset;
    },
  };
}

function result(
  topic: string,
  o: OutboundMessage,
  r: SendReceipt,
  delayed: SendInput | undefined,
): SendResult {
  const base = {
    status: SendStatus.SEND_OK,
    msgId: o.msgId,
    topic,
    queueId: o.queueId,
    queueOffset: r.queueOffset,
  };
  return delayed?.deliverAt === undefined ? base : { ...base, deliverAt: delayed.deliverAt };
}
