/**
 * Access control of the HTTP API (the model is `src/api/access.ts`). With `auth.keys` set,
 * every route gets, when it is registered (an `onRoute` hook, so this comes before any route):
 *
 * - an `onRequest` hook that authenticates `Authorization: Bearer <key>` (401
 *   MQ_ERR_UNAUTHORIZED) and, when the route's permission depends on path parameters only,
 *   authorizes at once (403 MQ_ERR_FORBIDDEN) — before the body is read;
 * - for the routes whose topic is in the body or the query, a `preHandler` that authorizes
 *   once they are validated;
 * - a rate limit per key (@fastify/rate-limit: the key's `rateLimit` per `auth.rateWindowMs`,
 *   429 MQ_ERR_RATE_LIMITED with Retry-After).
 *
 * What each route needs is {@link ROUTE_ACCESS}, keyed by method and fastify route pattern. A
 * route missing from it is refused to every key (fail closed) and logged when registered.
 * Without keys nothing is added: no cost per request.
 */
import rateLimit from '@fastify/rate-limit';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import type { AccessControl, Principal } from '../access.js';
import { createAccessControl } from '../access.js';
import type { Config } from '../../config/schema.js';
import { MqgateError } from '../../errors.js';
import { field, param } from './request-parts.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request; null when auth is off or on open routes. */
    principal: Principal | null;
  }
  interface FastifyInstance {
    /** The access control of the API keys (the WebSocket authorizes its frames with it). */
    access: AccessControl;
    /** Every route registered so far and whether {@link ROUTE_ACCESS} covers it. */
    routeAccess: readonly SeenRoute[];
  }
}

type Check = (ac: AccessControl, p: Principal, req: FastifyRequest) => void;

/** What one route needs. */
export interface RouteRule {
  /** No key needed (health, and the WebSocket upgrade, which authenticates its frames). */
  readonly open?: true;
  /** `request`: decided from path parameters in onRequest; `handler`: from body/query in preHandler. */
  readonly at?: 'request' | 'handler';
  readonly check?: Check;
  /** For the docs: what the route needs. */
  readonly needs: string;
}

const admin: RouteRule = {
  at: 'request',
  needs: 'admin',
  check: (ac, p) => ac.authorize(p, { kind: 'admin' }),
};

const authenticated: RouteRule = { at: 'request', needs: 'any valid key', check: () => {} };

const open: RouteRule = { open: true, needs: 'nothing' };

function topicParam(perm: 'PUB' | 'SUB'): RouteRule {
  return {
    at: 'request',
    needs: `${perm} on the topic`,
    check: (ac, p, req) => ac.authorize(p, { kind: 'topic', name: param(req, 'topic'), perm }),
  };
}

const topicPubOrSub: RouteRule = {
  at: 'request',
  needs: 'PUB or SUB on the topic',
  check: (ac, p, req) => {
    const name = param(req, 'topic');
    if (!ac.allowed(p, { kind: 'topic', name, perm: 'PUB' }))
      ac.authorize(p, { kind: 'topic', name, perm: 'SUB' });
  },
};

const groupParam: RouteRule = {
  at: 'request',
  needs: 'SUB on the group',
  check: (ac, p, req) => ac.authorize(p, { kind: 'group', name: param(req, 'group') }),
};

/** SUB on the group of the path and on the topic of the body or query; no topic: admin only. */
function groupAndTopic(from: 'body' | 'query'): RouteRule {
  return {
    at: 'handler',
    needs: `SUB on the group and on the topic (${from})`,
    check: (ac, p, req) => {
      ac.authorize(p, { kind: 'group', name: param(req, 'group') });
      const topic = field(from === 'body' ? req.body : req.query, 'topic');
      if (typeof topic === 'string') ac.authorize(p, { kind: 'topic', name: topic, perm: 'SUB' });
      else ac.authorize(p, { kind: 'admin' });
    },
  };
}

const canPublish = new WeakMap<Principal, boolean>();

/**
 * Commit and rollback: a transaction id names a half message whose topic is known only after a
 * store read, so the hook asks for PUB on some topic (a producer's key); the id itself comes
 * from the prepare answer, which only its producer saw.
 */
const anyPub: RouteRule = {
  at: 'request',
  needs: 'PUB on any topic',
  check: (_ac, p) => {
    let ok = canPublish.get(p);
    if (ok === undefined) {
      ok = p.admin || Object.values(p.key?.topics ?? {}).some((perm) => perm === 'PUB' || perm === 'PUB|SUB');
      canPublish.set(p, ok);
    }
    if (!ok) throw new MqgateError('MQ_ERR_FORBIDDEN', `key "${p.name}" lacks PUB on any topic`);
  },
};

/**
 * What each route needs, by `METHOD pattern` (fastify's patterns: `::` is a literal colon).
 * HEAD routes follow their GET. Every path of the API contract is here, built or not yet.
 */
export const ROUTE_ACCESS: Readonly<Record<string, RouteRule>> = {
  // produce and transactions
  'POST /v1/topics/:topic/messages': topicParam('PUB'),
  'POST /v1/topics/:topic/messages::batch': topicParam('PUB'),
  'POST /v1/topics/:topic/transactions': topicParam('PUB'),
  'POST /v1/transactions/:transactionId/commit': anyPub,
  'POST /v1/transactions/:transactionId/rollback': anyPub,
  // consume: POP
  'POST /v1/groups/:group/receive': groupAndTopic('body'),
  'POST /v1/groups/:group/ack': groupAndTopic('body'),
  'POST /v1/groups/:group/nack': groupAndTopic('body'),
  'POST /v1/groups/:group/invisible-duration': groupAndTopic('body'),
  // consume: pull by offset, offsets
  'GET /v1/topics/:topic/queues/:queueId/messages': topicParam('SUB'),
  'GET /v1/groups/:group/offsets': groupAndTopic('query'),
  'PUT /v1/groups/:group/offsets': groupAndTopic('body'),
  'POST /v1/groups/:group/offsets/reset': groupAndTopic('body'),
  // admin and query
  'GET /v1/topics': admin,
  'PUT /v1/topics/:topic': admin,
  'GET /v1/topics/:topic': topicPubOrSub,
  'DELETE /v1/topics/:topic': admin,
  'GET /v1/groups': admin,
  'PUT /v1/groups/:group': admin,
  'GET /v1/groups/:group': groupParam,
  'DELETE /v1/groups/:group': admin,
  'GET /v1/messages/:msgId': admin,
  'GET /v1/topics/:topic/messages': topicParam('SUB'),
  'GET /v1/groups/:group/dlq': groupParam,
  'POST /v1/groups/:group/dlq/:msgId/resend': admin,
  'GET /v1/backends': authenticated,
  // operations
  'GET /healthz': open,
  'GET /readyz': open,
  'GET /metrics': admin,
  'GET /openapi.json': admin,
  'GET /docs': admin,
  // the WebSocket upgrade (should it be a route): its frames are authenticated by the WebSocket
  'GET /v1/ws': open,
};

/** The rule of a route; `/docs/...` (Swagger UI's files) follow `/docs`. */
export function ruleFor(method: string, url: string): RouteRule | undefined {
  const m = method === 'HEAD' ? 'GET' : method;
  return ROUTE_ACCESS[`${m} ${url}`] ?? (url.startsWith('/docs/') ? ROUTE_ACCESS[`${m} /docs`] : undefined);
}

/** A route as registered, and whether the access table covers it. */
export interface SeenRoute {
  readonly method: string;
  readonly url: string;
  readonly covered: boolean;
}

function prependOnRequest(r: RouteOptions, hook: NonNullable<RouteOptions['onRequest']>): void {
  const cur = r.onRequest;
  r.onRequest = cur === undefined ? [hook].flat() : [hook, cur].flat();
}

function prependPreHandler(r: RouteOptions, hook: NonNullable<RouteOptions['preHandler']>): void {
  const cur = r.preHandler;
  r.preHandler = cur === undefined ? [hook].flat() : [hook, cur].flat();
}

/**
 * Installs access control and rate limits. `app.routeAccess` lists the routes as they are
 * registered (a test checks every one is covered).
 */
export async function installAccessControl(app: FastifyInstance, config: Config): Promise<void> {
  const ac = createAccessControl(config.auth);
  const seen: SeenRoute[] = [];
  app.decorate('access', ac);
  app.decorate('routeAccess', seen);
  app.decorateRequest('principal', null);
  app.addHook('onRoute', (r) => {
    const methods = [r.method].flat();
    const rules = new Map<string, RouteRule | undefined>(methods.map((m) => [m, ruleFor(m, r.url)]));
    for (const [m, rule] of rules) seen.push({ method: m, url: r.url, covered: rule !== undefined });
    if (!ac.enabled) return;
    for (const [m, rule] of rules)
      if (rule === undefined)
        app.log.warn(
          { method: m, url: r.url },
          'route has no access rule (src/api/rest/auth.ts): refused to every key while auth is on',
        );
    if ([...rules.values()].every((x) => x?.open === true)) {
      r.config = { ...r.config, rateLimit: false };
      return;
    }
    const one = rules.size === 1 ? rules.values().next().value : undefined;
    const ruleOf = (req: FastifyRequest): RouteRule | undefined => one ?? rules.get(req.method);
    const route = `${methods.join('|')} ${r.url}`;
    prependOnRequest(r, (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => {
      const rule = ruleOf(req);
      if (rule?.open === true) return done();
      try {
        const p = ac.authenticate(req.headers.authorization);
        req.principal = p;
        if (rule === undefined)
          throw new MqgateError('MQ_ERR_FORBIDDEN', `${route} has no access rule; refused (fail closed)`);
        if (rule.at === 'request') rule.check?.(ac, p, req);
      } catch (e) {
        if ((e as MqgateError).code === 'MQ_ERR_UNAUTHORIZED')
          void reply.header('www-authenticate', 'Bearer realm="mqgate"');
        return done(e as Error);
      }
      done();
    });
    if ([...rules.values()].some((x) => x?.at === 'handler'))
      prependPreHandler(r, (req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction) => {
        const rule = ruleOf(req);
        if (rule?.at !== 'handler') return done();
        const p = req.principal;
        if (p === null) return done(new MqgateError('MQ_ERR_UNAUTHORIZED', 'no API key was checked'));
        try {
          rule.check?.(ac, p, req);
        } catch (e) {
          return done(e as Error);
        }
        done();
      });
  });
  if (ac.enabled)
    await app.register(rateLimit, {
      global: true,
      hook: 'onRequest',
      timeWindow: config.auth.rateWindowMs,
      keyGenerator: (req) => req.principal?.name ?? req.ip,
      max: (req) => req.principal?.rateLimit ?? config.auth.rateLimit,
      // limit headers on 429 answers only: three headers on every answer cost more than they tell
      addHeadersOnExceeding: {
        'x-ratelimit-limit': false,
        'x-ratelimit-remaining': false,
        'x-ratelimit-reset': false,
      },
      errorResponseBuilder: (req, ctx) =>
        new MqgateError(
          'MQ_ERR_RATE_LIMITED',
          `key "${req.principal?.name ?? req.ip}" may send ${ctx.max} requests per ${
            config.auth.rateWindowMs
          } ms; retry in ${ctx.after}`,
        ),
    });
}
