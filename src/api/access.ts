/**
 * Access control modelled on RocketMQ's ACL: API keys (sent as `Authorization: Bearer <key>`),
 * each with permissions per resource — topics PUB, SUB, PUB|SUB or DENY, groups SUB or DENY,
 * and admin. A named resource wins over `*`; a resource a key does not mention is denied;
 * an admin key may do everything. Keys are compared by their SHA-256 (a key may be configured
 * as `keyHash: sha256:<hex>` so the clear key is never stored), in constant time.
 *
 * With no keys configured, access control is off (the server then binds loopback only, unless
 * `--insecure`): every request is the anonymous admin.
 */
import crypto from 'node:crypto';
import type { ApiKeyConfig, Config } from '../config/schema.js';
import { MqgateError } from '../errors.js';

export type Need =
  | { readonly kind: 'topic'; readonly name: string; readonly perm: 'PUB' | 'SUB' }
  | { readonly kind: 'group'; readonly name: string }
  | { readonly kind: 'admin' };

export interface Principal {
  readonly name: string;
  readonly admin: boolean;
  /** Requests per rate window for this key. */
  readonly rateLimit: number;
  readonly key: ApiKeyConfig | undefined;
}

export interface AccessControl {
  readonly enabled: boolean;
  /** The principal of an `Authorization` header. @throws MQ_ERR_UNAUTHORIZED */
  authenticate(authorization: string | undefined): Principal;
  /** @throws MQ_ERR_FORBIDDEN */
  authorize(p: Principal, need: Need): void;
  /** Whether `p` may (no throw). */
  allowed(p: Principal, need: Need): boolean;
}

export function hashKey(key: string): string {
  return `sha256:${crypto.createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

function permOf(table: Readonly<Record<string, string>>, name: string): string | undefined {
  return table[name] ?? table['*'];
}

export function createAccessControl(auth: Config['auth']): AccessControl {
  const enabled = auth.keys.length > 0;
  const anonymous: Principal = { name: 'anonymous', admin: true, rateLimit: auth.rateLimit, key: undefined };
  const keys = auth.keys.map((k) => {
    if (k.key === undefined && k.keyHash === undefined)
      throw new MqgateError('MQ_ERR_CONFIG_INVALID', `auth.keys "${k.name}": give key or keyHash`);
    return {
      digest: Buffer.from((k.keyHash ?? hashKey(k.key as string)).slice('sha256:'.length), 'hex'),
      principal: {
        name: k.name,
        admin: k.admin,
        rateLimit: k.rateLimit ?? auth.rateLimit,
        key: k,
      } as Principal,
    };
  });
  const allowed = (p: Principal, need: Need): boolean => {
    if (!enabled || p.admin) return true;
    const k = p.key;
    if (k === undefined || need.kind === 'admin') return false;
    if (need.kind === 'group') return permOf(k.groups, need.name) === 'SUB';
    const perm = permOf(k.topics, need.name);
    return perm === 'PUB|SUB' || perm === need.perm;
  };
  return {
    enabled,
    authenticate(authorization) {
      if (!enabled) return anonymous;
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (m === null)
        throw new MqgateError('MQ_ERR_UNAUTHORIZED', 'send an API key as "Authorization: Bearer <key>"');
      const digest = crypto
        .createHash('sha256')
        .update(m[1] as string, 'utf8')
        .digest();
      const hit = keys.find((k) => crypto.timingSafeEqual(k.digest, digest));
      if (hit === undefined) throw new MqgateError('MQ_ERR_UNAUTHORIZED', 'unknown API key');
      return hit.principal;
    },
    allowed,
    authorize(p, need) {
      if (allowed(p, need)) return;
      const what =
        need.kind === 'admin'
          ? 'admin'
          : need.kind === 'group'
            ? `SUB on group "${need.name}"`
            : `${need.perm} on topic "${need.name}"`;
      throw new MqgateError('MQ_ERR_FORBIDDEN', `key "${p.name}" lacks ${what}`);
    },
  };
}
