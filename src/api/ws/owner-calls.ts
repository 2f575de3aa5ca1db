/**
 * WebSocket frames whose id names another gateway instance (see src/api/peers.ts): `ack` and
 * `nack` of its receipt handle, `txResolve` of its transaction. Each goes to the owner as the
 * same call over REST, with the key the connection authenticated with (or cluster.apiKey); the
 * owner's error, or the 421 of an owner that cannot be asked, is the frame's error.
 */
import { MqgateError } from '../../errors.js';
import type { Peers } from '../peers.js';
import type { AckFrame, FrameErrorBody, NackFrame, TxResolveFrame } from './frames.js';

/** What a forwarded frame came to: undefined when the owner did it, else the error to answer. */
export type OwnerResult = FrameErrorBody | undefined;

export class OwnerCalls {
  readonly #peers: Peers;
  readonly #authorization: string | undefined;

  constructor(peers: Peers, authorization: string | undefined) {
    this.#peers = peers;
    this.#authorization = authorization;
  }

  /**
   * An ack or nack of a handle of `owner`: its REST ack or nack. The frame must name the group
   * and topic (the REST call's), which the caller has authorized.
   *
   * @throws MqgateError `MQ_ERR_BAD_REQUEST` when it does not
   */
  settle(f: AckFrame | NackFrame, owner: string): Promise<OwnerResult> {
    const { group, topic, receiptHandle } = f;
    if (group === undefined || topic === undefined)
      throw new MqgateError(
        'MQ_ERR_BAD_REQUEST',
        `the receipt handle is one of gateway instance "${owner}": give group and topic in the ${f.op} frame to have it forwarded there`,
      );
    const body =
      f.op === 'nack' && f.delayLevel !== undefined
        ? { topic, receiptHandle, delayLevel: f.delayLevel }
        : { topic, receiptHandle };
    return this.#call(owner, `/v1/groups/${encodeURIComponent(group)}/${f.op}`, body);
  }

  /**
   * The answer to a check of `owner`'s transaction: its REST commit or rollback. UNKNOWN asks
   * nothing of it (it checks again later).
   */
  resolve(f: TxResolveFrame, owner: string): Promise<OwnerResult> {
    if (f.state === 'UNKNOWN') return Promise.resolve(undefined);
    const op = f.state === 'COMMIT' ? 'commit' : 'rollback';
    return this.#call(owner, `/v1/transactions/${encodeURIComponent(f.transactionId)}/${op}`, {});
  }

  async #call(owner: string, path: string, body: unknown): Promise<OwnerResult> {
    const a = await this.#peers.post(owner, path, body, { authorization: this.#authorization });
    if (a.status === 200) return undefined;
    const e = (a.json as { error?: Partial<FrameErrorBody> } | null)?.error;
    if (typeof e?.code === 'string' && typeof e.message === 'string')
      return e.details === undefined
        ? { code: e.code, message: e.message }
        : { code: e.code, message: e.message, details: e.details };
    return new MqgateError('MQ_ERR_NOT_OWNER', `"${owner}" answered ${a.status}`, { details: { owner } });
  }
}
