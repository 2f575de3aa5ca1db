/**
 * The `ack` and `nack` frames of one WebSocket connection. A handle names a delivery pushed to
 * one of the connection's subscriptions; a frame that also names `group` and `topic` settles
 * any delivery of the group as the REST ack and nack do (a receive's). With cluster.instanceId
 * set, a handle of another instance goes to its owner (owner-calls.ts) and one of this instance
 * is stripped of its prefix first.
 */
import { MqgateError } from '../../errors.js';
import type { Gateway, GatewayDelivery } from '../../gateway/index.js';
import type { OwnerIds } from '../owner-ids.js';
import type { AckFrame, FrameId, NackFrame } from './frames.js';
import { errorFrame } from './frames.js';
import type { OwnerCalls, OwnerResult } from './owner-calls.js';

/** A receipt handle as the broker makes them (five dot-separated numbers). */
const HANDLE_FORM = /^\d+\.\d+\.\d+\.\d+\.\d+$/;

export interface SettleOptions {
  readonly gateway: Gateway;
  /** Set with cluster.instanceId only. */
  readonly ids: OwnerIds | undefined;
  readonly owners: OwnerCalls | undefined;
  /** The delivery of a handle among the connection's subscriptions. */
  readonly delivery: (handle: string) => GatewayDelivery | undefined;
  /** SUB on the topic and on the group, as the REST ack needs. @throws MQ_ERR_FORBIDDEN */
  readonly mayConsume: (group: string, topic: string) => void;
  readonly ok: (id: FrameId | undefined) => void;
  readonly error: (id: FrameId | undefined, e: unknown) => void;
  readonly send: (text: string) => void;
}

export class FrameSettler {
  readonly #o: SettleOptions;

  constructor(o: SettleOptions) {
    this.#o = o;
  }

  ack(f: AckFrame): void {
    const handle = this.#ownHandle(f);
    if (handle === undefined) return;
    const d = this.#o.delivery(handle);
    if (d === undefined && f.group !== undefined && f.topic !== undefined) {
      // not pushed here: a delivery of the group (a receive's), as the REST ack
      this.#o.mayConsume(f.group, f.topic);
      return this.answer(f.id, this.#o.gateway.ack(f.group, f.topic, handle));
    }
    if (d?.ack() !== true) throw unknownHandle(handle);
    this.#o.ok(f.id);
  }

  nack(f: NackFrame): void {
    const handle = this.#ownHandle(f);
    if (handle === undefined) return;
    const o = f.delayLevel === undefined ? {} : { delayLevel: f.delayLevel };
    const d = this.#o.delivery(handle);
    if (d === undefined && f.group !== undefined && f.topic !== undefined) {
      this.#o.mayConsume(f.group, f.topic);
      return this.answer(f.id, this.#o.gateway.nack(f.group, f.topic, handle, o));
    }
    if (d === undefined) throw unknownHandle(handle);
    const id = f.id;
    d.nack(o).then(
      (ok) => (ok ? this.#o.ok(id) : this.#o.error(id, unknownHandle(handle))),
      (e: unknown) => this.#o.error(id, e),
    );
  }

  /**
   * The handle of an ack or nack as this instance knows it; undefined when it names another
   * instance, to which the frame has gone instead.
   */
  #ownHandle(f: AckFrame | NackFrame): string | undefined {
    const { ids, owners } = this.#o;
    if (ids === undefined || owners === undefined) return f.receiptHandle;
    const p = ids.parse(f.receiptHandle);
    if (p.mine) return p.id;
    if (f.group !== undefined && f.topic !== undefined) this.#o.mayConsume(f.group, f.topic);
    this.elsewhere(f.id, owners.settle(f, p.owner));
    return undefined;
  }

  /** Answers a frame the gateway does: ok, or its error. */
  answer(id: FrameId | undefined, done: Promise<unknown>): void {
    done.then(
      () => this.#o.ok(id),
      (e: unknown) => this.#o.error(id, e),
    );
  }

  /** Answers a frame another instance does: ok, or its error (or the 421 of not reaching it). */
  elsewhere(id: FrameId | undefined, done: Promise<OwnerResult>): void {
    done.then(
      (failed) => (failed === undefined ? this.#o.ok(id) : this.#o.send(errorFrame(id, failed))),
      (e: unknown) => this.#o.error(id, e),
    );
  }
}

function unknownHandle(handle: string): MqgateError {
  return HANDLE_FORM.test(handle)
    ? new MqgateError(
        'MQ_ERR_RECEIPT_EXPIRED',
        'no open subscription of this connection holds it (settled, timed out, or its subscription closed)',
      )
    : new MqgateError('MQ_ERR_RECEIPT_INVALID', 'not a receipt handle');
}
