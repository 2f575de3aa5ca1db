import type { FastifyPluginAsync } from 'fastify';
import type { Gateway } from '../../../gateway/index.js';

/**
 * `/healthz`: the process answers (and which instance it is, with cluster.instanceId set).
 * `/readyz`: every backend is up and the gateway is not closing.
 */
export const healthRoutes: FastifyPluginAsync<{ gateway: Gateway; instanceId: string | undefined }> = async (
  app,
  { gateway, instanceId },
) => {
  const Status = {
    type: 'object',
    properties: {
      status: { type: 'string' },
      instanceId: { type: 'string', description: 'cluster.instanceId, when set' },
      backends: { type: 'array', items: { type: 'object', additionalProperties: true } },
    },
  } as const;
  app.get(
    '/healthz',
    { schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: Status } } },
    async () => (instanceId === undefined ? { status: 'ok' } : { status: 'ok', instanceId }),
  );
  app.get(
    '/readyz',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: every backend is up and the gateway is not closing',
        response: { 200: Status, 503: Status },
      },
    },
    async (_req, reply) => {
      const backends = gateway.listBackends().map((b) => ({ name: b.name, status: b.status }));
      const ready = !gateway.closed && backends.every((b) => b.status === 'up');
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', backends });
    },
  );
};
