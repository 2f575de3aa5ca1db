/**
 * REST calls whose id names another gateway instance (see src/api/peers.ts): the same request
 * is forwarded to the owner and its answer (status and body) is this one's; the list form of
 * ack is split by owner.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isMqgateError } from '../../errors.js';
import type { ForwardContext, PeerAnswer, Peers } from '../peers.js';
import { FORWARDED_BY } from '../peers.js';

/** Who asks, for a call forwarded on behalf of a REST request. */
export function forwardContext(req: FastifyRequest): ForwardContext {
  const by = req.headers[FORWARDED_BY];
  return {
    authorization: req.headers.authorization,
    forwardedBy: typeof by === 'string' ? by : undefined,
    requestId: req.id,
  };
}

/**
 * Answers `req` with what its owner answers to the same request.
 *
 * @throws MqgateError `MQ_ERR_NOT_OWNER` (421) when the owner cannot be asked (see Peers.post)
 */
export async function relay(
  peers: Peers,
  owner: string,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const a = await peers.post(owner, req.url, req.body, forwardContext(req));
  // a JSON string is sent as it is, not through the route's response schema
  return reply.code(a.status).header('content-type', 'application/json; charset=utf-8').send(a.text);
}

/** One handle's result in the list form of ack. */
export interface AckEntry {
  readonly receiptHandle: string;
  readonly ok: boolean;
  readonly error?: { code: string; message: string };
}

/**
 * The list form of ack over several owners: this instance's handles through `local` (given the
 * handle without its prefix), the others in one forwarded call per owner. Results come in the
 * order of the list, each naming the handle as the caller gave it; every handle of an owner that
 * cannot be asked fails with MQ_ERR_NOT_OWNER.
 */
export async function ackByOwner(
  peers: Peers,
  handles: readonly string[],
  local: (handle: string, given: string) => Promise<AckEntry>,
  forward: (owner: string, handles: string[]) => Promise<PeerAnswer>,
): Promise<AckEntry[]> {
  const results: Promise<AckEntry>[] = [];
  const elsewhere = new Map<string, { handles: string[]; at: number[] }>();
  handles.forEach((given, i) => {
    const p = peers.ids.parse(given);
    if (p.mine) {
      results[i] = local(p.id, given);
      return;
    }
    let e = elsewhere.get(p.owner);
    if (e === undefined) elsewhere.set(p.owner, (e = { handles: [], at: [] }));
    e.handles.push(given);
    e.at.push(i);
  });
  for (const [owner, e] of elsewhere) {
    const answered = forward(owner, e.handles).then(
      (a) => entriesOf(a, e.handles),
      (err: unknown) => {
        if (!isMqgateError(err)) throw err;
        return e.handles.map((h) => failed(h, err.code, err.message));
      },
    );
    e.at.forEach((at, k) => (results[at] = answered.then((list) => list[k] as AckEntry)));
  }
  return Promise.all(results);
}

/** The owner's entries for `handles`, or each failed with the owner's error. */
function entriesOf(a: PeerAnswer, handles: readonly string[]): AckEntry[] {
  const body = a.json as { results?: unknown; error?: { code?: unknown; message?: unknown } } | null;
  const list = body?.results;
  if (a.status === 200 && Array.isArray(list) && list.length === handles.length) return list as AckEntry[];
  const code = typeof body?.error?.code === 'string' ? body.error.code : 'MQ_ERR_NOT_OWNER';
  const message =
    typeof body?.error?.message === 'string' ? body.error.message : `the owner answered ${a.status}`;
  return handles.map((h) => failed(h, code, message));
}

function failed(receiptHandle: string, code: string, message: string): AckEntry {
  return { receiptHandle, ok: false, error: { code, message } };
}
