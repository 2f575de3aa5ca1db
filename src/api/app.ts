/**
 * The gateway's server: one fastify instance serving REST (`/v1/...`), the WebSocket API
 * (`/v1/ws`, on the same port), health, metrics and the OpenAPI document. The APIs talk to the
 * {@link Gateway} only.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import Fastify, { LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Gateway } from '../gateway/index.js';
import { Metrics } from '../observability/metrics.js';
import { Peers } from './peers.js';
import { installAccessControl } from './rest/auth.js';
import { frameworkErrors, installErrorHandling } from './rest/errors.js';
import { installMetrics, lazyChildLogger, requestId } from './rest/observe.js';
import { healthRoutes } from './rest/routes/health.js';
import { produceRoutes } from './rest/routes/produce.js';
import { attachWebSocket } from './ws/index.js';
import { registerOpenApi } from './rest/openapi.js';
import { consumeRoutes } from './rest/routes/consume.js';
import { groupRoutes } from './rest/routes/groups.js';
import { pullRoutes } from './rest/routes/pull.js';
import { queryRoutes } from './rest/routes/query.js';
import { topicRoutes } from './rest/routes/topics.js';
import { transactionRoutes } from './rest/routes/transactions.js';

export interface AppOptions {
  readonly gateway: Gateway;
  readonly config: Config;
  readonly logger: Logger;
}

/** Envelope allowance over the largest message body (JSON quoting, base64, other fields). */
export function bodyLimit(config: Config): number {
  // base64 grows a body by 4/3; JSON escaping of text at most 6x for control characters,
  // which nobody sends at size: 4/3 plus 64 KiB of envelope covers both realistic forms
  return Math.ceil((config.store.maxMessageSize * 4) / 3) + 64 * 1024;
}

export async function buildApp(o: AppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: o.logger as FastifyBaseLogger,
    bodyLimit: bodyLimit(o.config),
    requestTimeout: o.config.server.requestTimeoutMs,
    keepAliveTimeout: o.config.server.keepAliveTimeoutMs,
    // request lines at debug level (an onResponse hook below), not two info lines each
    logController: new LogController({ disableRequestLogging: true }),
    // x-request-id is honoured when short and plain (src/api/rest/observe.ts), else a UUID
    requestIdHeader: false,
    genReqId: requestId,
    childLoggerFactory: lazyChildLogger,
    ajv: { customOptions: { allErrors: false, coerceTypes: 'array', removeAdditional: false } },
    return503OnClosing: true,
    frameworkErrors,
  });
  installErrorHandling(app);
  // operations (access control, rate limits, metrics): onRoute hooks, so before any route
  await installAccessControl(app, o.config);
  const metrics = new Metrics(o.gateway, o.config.metrics);
  installMetrics(app, metrics, o.config.metrics.enabled);
  // end of operations
  // a callback hook, not an async one: no promise per request
  app.addHook('onSend', (req, reply, payload, done) => {
    void reply.header('x-request-id', req.id);
    done(null, payload);
  });
  if (o.logger.isLevelEnabled('debug'))
    app.addHook('onResponse', async (req, reply) => {
      req.log.debug(
        { method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime },
        'request',
      );
    });
  await registerOpenApi(app, o.config);
  // several instances (cluster.instanceId): ids name their owner, calls go to it
  const peers = Peers.of(o.config);
  if (peers !== undefined) o.gateway.txChecks.setTransactionIdOut((id) => peers.ids.out(id));
  await app.register(healthRoutes, { gateway: o.gateway, instanceId: peers?.ids.self });
  await app.register(produceRoutes, { gateway: o.gateway, config: o.config });
  await app.register(transactionRoutes, { gateway: o.gateway, peers });
  await app.register(consumeRoutes, { gateway: o.gateway, peers });
  await app.register(pullRoutes, { gateway: o.gateway });
  await app.register(topicRoutes, { gateway: o.gateway });
  await app.register(groupRoutes, { gateway: o.gateway });
  await app.register(queryRoutes, { gateway: o.gateway });
  attachWebSocket(app, { ...o, peers, ...(o.config.metrics.enabled ? { metrics } : {}) });
  return app;
}
