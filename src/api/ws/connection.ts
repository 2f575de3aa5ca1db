/**
 * One WebSocket client: reads its frames, checks each against its op's schema and the key's
 * permissions, and runs it on the {@link Gateway}. Publishes run concurrently (pipelining:
 * results go out as they complete); each subscription streams its deliveries while the socket
 * is not congested (see {@link Flow}). A bad frame is answered with an error frame and changes
 * nothing else. When the socket closes, every subscription closes (its unacked messages go
 * back to the group) and the transaction check channels are removed.
 */
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { GatewayDelivery, GatewaySubscription, SendResult } from '../../gateway/index.js';
import { MqgateError, fromSystemError, isMqgateError } from '../../errors.js';
import type { Gateway } from '../../gateway/index.js';
import { toMessageJson, toSendInput } from '../../gateway/index.js';
import type { Metrics } from '../../observability/metrics.js';
import type { AccessControl, Principal } from '../access.js';
import type { OwnerIds } from '../owner-ids.js';
import type { Peers } from '../peers.js';
import type {
  ClientFrame,
  CreditFrame,
  FrameId,
  PublishBatchFrame,
  PublishFrame,
  SubscribeFrame,
  TxResolveFrame,
  UnsubscribeFrame,
} from './frames.js';
import { FrameError, errorFrame, okFrame, parseFrame } from './frames.js';
import { Flow, Hold } from './flow.js';
import { OwnerCalls } from './owner-calls.js';
import { FrameSettler } from './settle.js';
import { TxChannel } from './tx-channel.js';

export interface ConnectionOptions {
  readonly gateway: Gateway;
  readonly access: AccessControl;
  readonly principal: Principal;
  readonly log: Logger;
  /** Pushing pauses while this much is buffered for the socket (bytes). */
  readonly maxBufferedBytes: number;
  /** Reading pauses while this many publishes are in flight... */
  readonly maxInflight: number;
  /** ...or while their frames add up to this many bytes. */
  readonly maxInflightBytes: number;
  /** A check-back unanswered this long counts UNKNOWN (ms). */
  readonly checkTimeoutMs: number;
  /** Counts publishes and deliveries when given. */
  readonly metrics?: Metrics | undefined;
  /** Several instances (cluster.instanceId): handles and transaction ids name their owner. */
  readonly peers?: Peers | undefined;
  /** The key the connection authenticated with: frames forwarded to another instance carry it. */
  readonly authorization?: string | undefined;
}

interface Sub {
  readonly id: FrameId;
  readonly sub: GatewaySubscription;
  /** `{"op":"message","subscription":<id>,"message":` */
  readonly prefix: string;
  readonly backend: string;
  /** Unsubscribed or the connection closed: stop quietly. */
  done: boolean;
}

/** A subscription as {@link Connection.stats} shows it. */
export interface SubscriptionStats {
  readonly id: FrameId;
  readonly group: string;
  readonly topic: string;
  readonly credit: number;
  /** Deliveries taken for it and not settled (at most `credit`). */
  readonly unacked: number;
}

/** A connection as the WebSocket API's stats show it. */
export interface ConnectionStats {
  readonly principal: string;
  readonly bufferedBytes: number;
  readonly maxBufferedBytes: number;
  readonly framesIn: number;
  readonly framesOut: number;
  readonly publishesInFlight: number;
  readonly readingPaused: boolean;
  readonly subscriptions: SubscriptionStats[];
  readonly txGroups: string[];
  readonly txPending: number;
}

export class Connection {
  readonly ws: WebSocket;
  readonly #o: ConnectionOptions;
  readonly #flow: Flow;
  readonly #tx: TxChannel;
  readonly #subs = new Map<FrameId, Sub>();
  /** Topics this key may publish to, checked once (only when access control applies). */
  readonly #pubOk = new Set<string>();
  readonly #checkAccess: boolean;
  readonly #send: (text: string) => void;
  /** Set with cluster.instanceId only: nothing is prefixed or parsed without it. */
  readonly #ids: OwnerIds | undefined;
  readonly #owners: OwnerCalls | undefined;
  readonly #settle: FrameSettler;
  #inflight = 0;
  #inflightBytes = 0;
  #framesIn = 0;
  #alive = true;
  #lastBuffered = 0;
  #closed = false;

  constructor(ws: WebSocket, o: ConnectionOptions) {
    this.ws = ws;
    this.#o = o;
    this.#flow = new Flow(ws, o.maxBufferedBytes);
    this.#send = (text) => this.#flow.send(text);
    this.#checkAccess = o.access.enabled && !o.principal.admin;
    this.#ids = o.peers?.ids;
    this.#owners = o.peers === undefined ? undefined : new OwnerCalls(o.peers, o.authorization);
    const ids = this.#ids;
    this.#tx = new TxChannel({
      router: o.gateway.txChecks,
      send: this.#send,
      mayCheck: (topic) => o.access.allowed(o.principal, { kind: 'topic', name: topic, perm: 'PUB' }),
      backendOf: (topic) => o.gateway.backendOf(topic),
      timeoutMs: o.checkTimeoutMs,
      idOut: ids === undefined ? undefined : (id) => ids.out(id),
    });
    this.#settle = new FrameSettler({
      gateway: o.gateway,
      ids,
      owners: this.#owners,
      delivery: (handle) => this.#delivery(handle),
      mayConsume: (group, topic) => this.#mayConsume(group, topic),
      ok: (id) => this.#ok(id),
      error: (id, e) => this.#error(id, e),
      send: this.#send,
    });
    ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.#alive = true;
    });
    ws.on('close', () => this.dispose());
    ws.on('error', (err) => o.log.debug({ err, principal: o.principal.name }, 'WebSocket error'));
  }

  get closed(): boolean {
    return this.#closed;
  }

  // ---------------------------------------------------------------- frames

  #onFrame(data: Buffer, isBinary: boolean): void {
    this.#framesIn++;
    this.#alive = true;
    let f: ClientFrame;
    try {
      if (isBinary) throw new FrameError(undefined, 'binary frames are not accepted: send JSON text');
      f = parseFrame(data.toString('utf8'));
    } catch (e) {
      this.#error(e instanceof FrameError ? e.frameId : undefined, e);
      return;
    }
    try {
      switch (f.op) {
        case 'publish':
          return this.#publish(f, data.length);
        case 'publishBatch':
          return this.#publishBatch(f, data.length);
        case 'subscribe':
          return this.#subscribe(f);
        case 'ack':
          return this.#settle.ack(f);
        case 'nack':
          return this.#settle.nack(f);
        case 'credit':
          return this.#credit(f);
        case 'unsubscribe':
          return this.#unsubscribe(f);
        case 'txRegister':
          this.#mayRegister();
          this.#tx.register(f.producerGroup);
          return this.#ok(f.id);
        case 'txResolve':
          return this.#txResolve(f);
        case 'ping':
          return this.#send(
            f.id === undefined ? '{"op":"pong"}' : `{"id":${JSON.stringify(f.id)},"op":"pong"}`,
          );
      }
    } catch (e) {
      this.#error(f.id, e);
    }
  }

  #ok(id: FrameId | undefined): void {
    if (id !== undefined) this.#send(okFrame(id));
  }

  #error(id: FrameId | undefined, e: unknown): void {
    let err: MqgateError;
    const io = fromSystemError(e);
    if (isMqgateError(e)) err = e;
    else if (io !== undefined) err = io;
    else {
      this.#o.log.error({ err: e, principal: this.#o.principal.name }, 'WebSocket frame failed');
      err = new MqgateError('MQ_ERR_INTERNAL', 'the frame failed; see the gateway log');
    }
    this.#send(errorFrame(id, err));
  }

  // ---------------------------------------------------------------- produce

  #publish(f: PublishFrame, bytes: number): void {
    const id = f.id;
    const topic = f.topic;
    const input = toSendInput(f.message); // may throw: before the in-flight counts
    this.#beginSend(topic, bytes);
    this.#endSend(id, topic, bytes, this.#o.gateway.send(topic, input), (r) => resultFrame(id, r));
  }

  /** A batch: one frame, one group commit, one `{id, op:"result", results:[...]}` answer. */
  #publishBatch(f: PublishBatchFrame, bytes: number): void {
    const id = f.id;
    const topic = f.topic;
    const inputs = f.messages.map((m) => toSendInput(m)); // may throw: before the in-flight counts
    this.#beginSend(topic, bytes);
    this.#endSend(
      id,
      topic,
      bytes,
      this.#o.gateway.sendBatch(topic, inputs),
      (rs) =>
        `{"id":${JSON.stringify(id)},"op":"result","results":[${rs.map((r) => resultFrame(undefined, r)).join(',')}]}`,
    );
  }

  /**
   * The publish bookkeeping before a send: the key's PUB permission (checked once per topic)
   * and the in-flight counts that pause reading.
   */
  #beginSend(topic: string, bytes: number): void {
    if (this.#checkAccess && !this.#pubOk.has(topic)) {
      this.#o.access.authorize(this.#o.principal, { kind: 'topic', name: topic, perm: 'PUB' });
      this.#pubOk.add(topic);
    }
    this.#inflight++;
    this.#inflightBytes += bytes;
    if (this.#inflight >= this.#o.maxInflight || this.#inflightBytes >= this.#o.maxInflightBytes)
      this.#flow.hold(Hold.INFLIGHT);
  }

  /**
   * Answers a send under way: metrics and the answer frame. Its closures hold the frame's id
   * only, never the frame or the messages: their bodies are in the log once the send has
   * started, and keeping them until the answer made the young-generation collector copy every
   * body in flight (about a fifth of the time under load).
   */
  #endSend<R extends SendResult | SendResult[]>(
    id: FrameId,
    topic: string,
    bytes: number,
    sent: Promise<R>,
    frame: (r: R) => string,
  ): void {
    const started = this.#o.metrics === undefined ? 0 : performance.now();
    sent.then(
      (r) => {
        this.#published(bytes);
        const n = Array.isArray(r) ? r.length : 1;
        this.#o.metrics?.onSend(topic, n, (performance.now() - started) / 1000, 'ws');
        this.#send(frame(r));
      },
      (e: unknown) => {
        this.#published(bytes);
        this.#error(id, e);
      },
    );
  }

  #published(bytes: number): void {
    this.#inflight--;
    this.#inflightBytes -= bytes;
    if (this.#inflight < this.#o.maxInflight && this.#inflightBytes < this.#o.maxInflightBytes)
      this.#flow.release(Hold.INFLIGHT);
  }

  // ---------------------------------------------------------------- consume

  #subscribe(f: SubscribeFrame): void {
    if (this.#subs.has(f.id))
      throw new MqgateError(
        'MQ_ERR_BAD_REQUEST',
        `subscription ${JSON.stringify(f.id)} exists on this connection`,
      );
    if (this.#checkAccess) {
      this.#o.access.authorize(this.#o.principal, { kind: 'topic', name: f.topic, perm: 'SUB' });
      this.#o.access.authorize(this.#o.principal, { kind: 'group', name: f.group });
    }
    const sub = this.#o.gateway.subscribe(f.group, f.topic, {
      filter: f.filter,
      credit: f.credit,
      clientId: f.clientId,
    });
    const s: Sub = {
      id: f.id,
      sub,
      prefix: `{"op":"message","subscription":${JSON.stringify(f.id)},"message":`,
      backend: this.#o.gateway.backendOf(f.topic),
      done: false,
    };
    this.#subs.set(f.id, s);
    // answered once it takes messages: what is sent after the answer is the subscriber's
    if (sub.ready === undefined) this.#ok(f.id);
    else
      sub.ready.then(
        () => this.#ok(f.id),
        (e: unknown) => {
          this.#endSub(s);
          this.#error(f.id, e);
        },
      );
    this.#deliver(s).catch((err: unknown) => {
      this.#o.log.error({ err, group: f.group, topic: f.topic }, 'WebSocket delivery failed');
      this.#endSub(s);
    });
  }

  /**
   * Streams a subscription's deliveries. Pulls the next one only while the socket is not
   * congested: the broker holds at most `credit` of them, so nothing piles up here.
   */
  async #deliver(s: Sub): Promise<void> {
    const it = s.sub[Symbol.asyncIterator]();
    const flow = this.#flow;
    for (;;) {
      if (flow.congested) await flow.drained();
      if (s.done) return;
      const r = await it.next();
      if (r.done === true || s.done) break;
      const m = toMessageJson(r.value.message, s.backend);
      if (this.#ids !== undefined && m.receiptHandle !== undefined)
        m.receiptHandle = this.#ids.out(m.receiptHandle);
      flow.send(s.prefix + JSON.stringify(m) + '}');
      this.#o.metrics?.onDeliver(s.sub.topic, 1);
    }
    if (s.done) return;
    // the broker ended it (consumer expiry, shutdown): tell the client, forget it
    this.#endSub(s);
    this.#send(
      errorFrame(
        s.id,
        new MqgateError('MQ_ERR_SUBSCRIPTION_CLOSED', `subscription ${JSON.stringify(s.id)} ended`),
      ),
    );
  }

  #endSub(s: Sub): void {
    s.done = true;
    s.sub.close();
    if (this.#subs.get(s.id) === s) this.#subs.delete(s.id);
  }

  #subOf(id: FrameId): Sub {
    const s = this.#subs.get(id);
    if (s === undefined)
      throw new MqgateError(
        'MQ_ERR_SUBSCRIPTION_CLOSED',
        `no subscription ${JSON.stringify(id)} on this connection`,
      );
    return s;
  }

  #unsubscribe(f: UnsubscribeFrame): void {
    this.#endSub(this.#subOf(f.subscription));
    this.#ok(f.id);
  }

  #credit(f: CreditFrame): void {
    const { sub } = this.#subOf(f.subscription);
    sub.setCredit(sub.credit + f.n);
    this.#ok(f.id);
  }

  /** The delivery of a receipt handle among this connection's subscriptions. */
  #delivery(handle: string): GatewayDelivery | undefined {
    for (const s of this.#subs.values()) {
      const d = s.sub.outstanding.byHandle(handle);
      if (d !== undefined) return d;
    }
    return undefined;
  }

  /** SUB on the topic and the group, as a REST ack needs. */
  #mayConsume(group: string, topic: string): void {
    if (!this.#checkAccess) return;
    this.#o.access.authorize(this.#o.principal, { kind: 'topic', name: topic, perm: 'SUB' });
    this.#o.access.authorize(this.#o.principal, { kind: 'group', name: group });
  }

  // ---------------------------------------------------------------- transactions

  /** The answer to a check: settles it here, or commits or rolls back on the owner's instance. */
  #txResolve(f: TxResolveFrame): void {
    let frame = f;
    if (this.#ids !== undefined && this.#owners !== undefined) {
      const p = this.#ids.parse(f.transactionId);
      if (!p.mine) {
        this.#mayRegister('txResolve of another instance');
        return this.#settle.elsewhere(f.id, this.#owners.resolve(f, p.owner));
      }
      frame = { ...f, transactionId: p.id };
    }
    this.#tx.resolve(frame);
    this.#ok(f.id);
  }

  /**
   * A check channel sees half messages of the topics its key may publish to (the others are
   * answered UNKNOWN without it): registering needs PUB on at least one topic, or admin.
   */
  #mayRegister(what = 'txRegister'): void {
    if (!this.#checkAccess) return;
    const topics = this.#o.principal.key?.topics ?? {};
    if (Object.values(topics).some((p) => p === 'PUB' || p === 'PUB|SUB')) return;
    throw new MqgateError(
      'MQ_ERR_FORBIDDEN',
      `key "${this.#o.principal.name}" lacks PUB on any topic: ${what} needs PUB (or admin)`,
    );
  }

  // ---------------------------------------------------------------- life

  /**
   * The heartbeat tick: a connection that answered nothing since the last tick is terminated,
   * unless its reading is paused while it still drains (a slow reader, not a dead one).
   * @returns false when it was terminated
   */
  heartbeat(): boolean {
    if (this.#closed) return false;
    const buffered = this.#flow.buffered;
    if (!this.#alive) {
      const draining = this.#flow.holding && (!this.#flow.congested || buffered < this.#lastBuffered);
      if (!draining) {
        this.#o.log.info({ principal: this.#o.principal.name }, 'WebSocket missed its pong: terminated');
        this.ws.terminate();
        this.dispose();
        return false;
      }
    }
    this.#alive = false;
    this.#lastBuffered = buffered;
    this.ws.ping();
    for (const s of this.#subs.values()) s.sub.heartbeat();
    return true;
  }

  /** Closes every subscription (unacked messages go back to the group) and the check channels. */
  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#subs.values()) {
      s.done = true;
      s.sub.close();
    }
    this.#subs.clear();
    this.#tx.dispose();
    this.#flow.dispose();
  }

  stats(): ConnectionStats {
    return {
      principal: this.#o.principal.name,
      bufferedBytes: this.#flow.buffered,
      maxBufferedBytes: this.#flow.maxBuffered,
      framesIn: this.#framesIn,
      framesOut: this.#flow.sent,
      publishesInFlight: this.#inflight,
      readingPaused: this.#flow.holding,
      subscriptions: [...this.#subs.values()].map((s) => ({
        id: s.id,
        group: s.sub.group,
        topic: s.sub.topic,
        credit: s.sub.credit,
        unacked: s.sub.outstanding.size,
      })),
      txGroups: this.#tx.groups,
      txPending: this.#tx.pending,
    };
  }
}

/** A send's result frame; without an id, the result object alone (an entry of a batch's results). */
function resultFrame(id: FrameId | undefined, r: SendResult): string {
  // by hand: the hot path of publishing. msgId is hex and topic names are [%|a-zA-Z0-9_-]
  // (checked on send), so neither needs escaping
  const head =
    id === undefined ? '{' : `{"id":${typeof id === 'number' ? id : JSON.stringify(id)},"op":"result",`;
  return `${head}"msgId":"${r.msgId}","topic":"${r.topic}","queueId":${r.queueId},"queueOffset":${r.queueOffset},"status":"${r.status}"${r.deliverAt === undefined ? '' : `,"deliverAt":${r.deliverAt}`}}`;
}
