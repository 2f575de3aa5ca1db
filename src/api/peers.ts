/**
 * The other gateway instances (`cluster.peers`) and the forwarding of a call to the one that
 * owns its id. A call is forwarded once: it carries {@link FORWARDED_BY}, and an instance that
 * receives a forwarded call naming yet another owner answers 421 instead of passing it on (so
 * a misconfigured ring cannot loop). The owner is looked up in the configured map only: the id
 * chooses among known URLs, never makes one.
 *
 * Authorization: a forwarded call carries the caller's own `Authorization` (the instances
 * share their auth.keys, so the owner checks the same key again), or `cluster.apiKey` when set.
 */
import type { Config } from '../config/schema.js';
import { MqgateError } from '../errors.js';
import { OwnerIds } from './owner-ids.js';

/** The header a forwarded call carries: the instance that forwarded it. */
export const FORWARDED_BY = 'mqgate-forwarded-by';

/** Who asks and how, for a call to forward. */
export interface ForwardContext {
  /** The caller's `Authorization` (a WebSocket's: the key it connected with). */
  readonly authorization?: string | undefined;
  /** Set when the call was itself forwarded (by that instance): it is not forwarded again. */
  readonly forwardedBy?: string | undefined;
  /** Kept across the hop, so both instances log the same request id. */
  readonly requestId?: string | undefined;
}

/** What the owner answered: its status, and its JSON body as sent and parsed. */
export interface PeerAnswer {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
}

export class Peers {
  readonly ids: OwnerIds;
  readonly #urls: ReadonlyMap<string, string>;
  readonly #timeoutMs: number;
  readonly #apiKey: string | undefined;

  constructor(c: Config['cluster'] & { instanceId: string }) {
    this.ids = new OwnerIds(c.instanceId);
    this.#urls = new Map(Object.entries(c.peers).map(([name, url]) => [name, url.replace(/\/+$/, '')]));
    this.#timeoutMs = c.forwardTimeoutMs;
    this.#apiKey = c.apiKey;
  }

  /** The cluster of a configuration; undefined for a single gateway (no instanceId). */
  static of(config: Config): Peers | undefined {
    const c = config.cluster;
    return c.instanceId === undefined ? undefined : new Peers({ ...c, instanceId: c.instanceId });
  }

  /** The base URL of an instance, when it is a known peer. */
  urlOf(owner: string): string | undefined {
    return owner === this.ids.self ? undefined : this.#urls.get(owner);
  }

  /**
   * POSTs `body` to `path` on the owner's instance and answers what it answered, whatever the
   * status (a 4xx of the owner is its answer, passed on as it is).
   *
   * @throws MqgateError `MQ_ERR_NOT_OWNER` naming the owner when the call was forwarded already,
   *   the owner is no known peer, or it does not answer within cluster.forwardTimeoutMs
   */
  async post(owner: string, path: string, body: unknown, ctx: ForwardContext): Promise<PeerAnswer> {
    const url = this.urlOf(owner);
    if (ctx.forwardedBy !== undefined)
      throw notOwner(owner, url, `forwarded here by "${ctx.forwardedBy}" already; not forwarded twice`);
    if (url === undefined) throw notOwner(owner, url, 'not a peer of this instance (cluster.peers)');
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [FORWARDED_BY]: this.ids.self,
    };
    const authorization = this.#apiKey === undefined ? ctx.authorization : `Bearer ${this.#apiKey}`;
    if (authorization !== undefined) headers.authorization = authorization;
    if (ctx.requestId !== undefined) headers['x-request-id'] = ctx.requestId;
    let status: number;
    let text: string;
    try {
      const res = await fetch(url + path, {
        method: 'POST',
        headers,
        body: JSON.stringify(body ?? {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      status = res.status;
      text = await res.text();
    } catch (e) {
      const reason =
        e instanceof Error && e.name === 'TimeoutError'
          ? `no answer within ${this.#timeoutMs} ms`
          : `unreachable (${causeOf(e)})`;
      throw notOwner(owner, url, reason);
    }
    try {
      return { status, text, json: JSON.parse(text) as unknown };
    } catch {
      // not a gateway's answer (a proxy's error page?): never passed on as one
      throw notOwner(owner, url, `answered ${status} with a body that is not JSON`);
    }
  }
}

/** The 421 of an id owned elsewhere: names the owner and, when known, its URL. */
export function notOwner(owner: string, url: string | undefined, reason: string): MqgateError {
  return new MqgateError(
    'MQ_ERR_NOT_OWNER',
    `"${owner}"${url === undefined ? '' : ` at ${url}`}: ${reason}`,
    {
      details: url === undefined ? { owner } : { owner, url },
    },
  );
}

/** fetch's failure in a few words: its cause's code (ECONNREFUSED...) when it has one. */
function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return e instanceof Error ? e.message : String(e);
}
