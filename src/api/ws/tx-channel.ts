/**
 * Transaction check-back over one WebSocket: `txRegister` makes the connection a check channel
 * of a producer group (through the gateway's {@link TxCheckRouter}); each check the router
 * routes to it goes out as a `txCheck` frame with a `checkId`, and the client's `txResolve`
 * settles it. A check not answered within the router's timeout, or pending when the
 * connection closes, counts as UNKNOWN (the broker checks again later).
 */
import type { TxCheckRequest } from '../../gateway/index.js';
import { MqgateError } from '../../errors.js';
import type { CheckAnswer, TxCheckRouter } from '../../gateway/index.js';
import { toMessageJson } from '../../gateway/index.js';
import type { TxResolveFrame } from './frames.js';

interface PendingCheck {
  readonly transactionId: string;
  readonly resolve: (a: CheckAnswer) => void;
  readonly timer: NodeJS.Timeout;
}

export interface TxChannelOptions {
  readonly router: TxCheckRouter;
  readonly send: (text: string) => void;
  /** Whether this connection may see (and answer) checks of `topic`. */
  readonly mayCheck: (topic: string) => boolean;
  readonly backendOf: (topic: string) => string;
  /** After this long without an answer a check counts UNKNOWN (the router's timeout). */
  readonly timeoutMs: number;
  /** How a transaction id leaves in a txCheck (with its owner, cluster.instanceId set). */
  readonly idOut?: ((transactionId: string) => string) | undefined;
}

export class TxChannel {
  readonly #o: TxChannelOptions;
  readonly #unregister = new Map<string, () => void>();
  readonly #pending = new Map<number, PendingCheck>();
  #next = 0;
  #closed = false;

  constructor(o: TxChannelOptions) {
    this.#o = o;
  }

  /** Checks sent and not answered yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Producer groups this connection answers for. */
  get groups(): string[] {
    return [...this.#unregister.keys()];
  }

  /** Makes this connection a check channel of `producerGroup` (again: no change). */
  register(producerGroup: string): void {
    if (this.#closed || this.#unregister.has(producerGroup)) return;
    this.#unregister.set(
      producerGroup,
      this.#o.router.register(producerGroup, (req) => this.#check(req)),
    );
  }

  #check(req: TxCheckRequest): Promise<CheckAnswer> {
    // a key without PUB on the topic never sees its half messages (nor decides them)
    if (this.#closed || !this.#o.mayCheck(req.topic)) return Promise.resolve('UNKNOWN');
    const checkId = ++this.#next;
    return new Promise<CheckAnswer>((resolve) => {
      const timer = setTimeout(() => this.#settle(checkId, 'UNKNOWN'), this.#o.timeoutMs);
      this.#pending.set(checkId, { transactionId: req.transactionId, resolve, timer });
      this.#o.send(
        JSON.stringify({
          op: 'txCheck',
          checkId,
          transactionId: this.#o.idOut === undefined ? req.transactionId : this.#o.idOut(req.transactionId),
          msgId: req.msgId,
          topic: req.topic,
          producerGroup: req.producerGroup,
          checkTimes: req.checkTimes,
          message: toMessageJson(req.message, this.#o.backendOf(req.topic)),
        }),
      );
    });
  }

  #settle(checkId: number, answer: CheckAnswer): void {
    const p = this.#pending.get(checkId);
    if (p === undefined) return;
    this.#pending.delete(checkId);
    clearTimeout(p.timer);
    p.resolve(answer);
  }

  /**
   * Settles the pending check a `txResolve` answers: the one of its `checkId`, else the oldest
   * of its transaction.
   * @throws MQ_ERR_TX_UNKNOWN when no such check is pending here (never sent, or answered late)
   */
  resolve(f: TxResolveFrame): void {
    let checkId = f.checkId;
    if (checkId === undefined) {
      for (const [id, p] of this.#pending)
        if (p.transactionId === f.transactionId) {
          checkId = id;
          break;
        }
    } else if (this.#pending.get(checkId)?.transactionId !== f.transactionId) checkId = undefined;
    if (checkId === undefined)
      throw new MqgateError(
        'MQ_ERR_TX_UNKNOWN',
        `no check of transaction "${f.transactionId}"${f.checkId === undefined ? '' : ` with checkId ${f.checkId}`} is pending on this connection (answered too late, or never asked)`,
      );
    this.#settle(checkId, f.state);
  }

  /** Unregisters every group; pending checks count UNKNOWN. */
  dispose(): void {
    this.#closed = true;
    for (const un of this.#unregister.values()) un();
    this.#unregister.clear();
    for (const id of [...this.#pending.keys()]) this.#settle(id, 'UNKNOWN');
  }
}
