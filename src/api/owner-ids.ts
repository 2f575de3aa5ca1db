/**
 * Ids that name their owner, for several gateway instances in front of one broker
 * (ARCHITECTURE.md, "Scaling past one machine"). A transaction id and a receipt handle point at
 * state one instance holds (a half message in its log, a delivery held by its process), so with
 * `cluster.instanceId` set they leave the gateway as `{instanceId}~{id}` and arrive stripped of
 * it; an id naming another instance is forwarded there (see peers.ts).
 *
 * This is done at the API edge only (REST routes and WebSocket connections): the broker and
 * the core never see a prefix. With no instanceId there is no OwnerIds at all, so the send
 * and ack paths pay nothing.
 *
 * '~' occurs in no id of today's: msgIds and transaction ids are hex, the log's handles are
 * dotted numbers, the core's `p.{msgId}.{version}`. An id without a prefix (one handed out
 * before instanceId was set) is taken as this instance's own.
 */
import { INSTANCE_ID_PATTERN } from '../config/schema.js';

/** Between the owner and the id. */
export const OWNER_SEPARATOR = '~';

const INSTANCE_ID = new RegExp(INSTANCE_ID_PATTERN);
/** The longest prefix: an instance id (32) and the separator. */
export const MAX_OWNER_PREFIX = 33;

/** An id as it arrived: the instance it names, and the id as that instance knows it. */
export interface OwnedId {
  readonly owner: string;
  readonly id: string;
  /** Whether the owner is this instance. */
  readonly mine: boolean;
}

export class OwnerIds {
  /** This instance's id. */
  readonly self: string;
  readonly #prefix: string;

  constructor(self: string) {
    if (!INSTANCE_ID.test(self))
      throw new TypeError(`"${self}" is not an instance id (${INSTANCE_ID_PATTERN})`);
    this.self = self;
    this.#prefix = self + OWNER_SEPARATOR;
  }

  /** An id of this instance as it leaves the gateway: `{self}~{id}`. */
  out(id: string): string {
    return this.#prefix + id;
  }

  /** The owner an id names (this instance when it names none) and the id without its prefix. */
  parse(text: string): OwnedId {
    const at = text.indexOf(OWNER_SEPARATOR);
    if (at > 0 && at < MAX_OWNER_PREFIX) {
      const owner = text.slice(0, at);
      if (INSTANCE_ID.test(owner)) return { owner, id: text.slice(at + 1), mine: owner === this.self };
    }
    return { owner: this.self, id: text, mine: true };
  }
}
