/**
 * The OpenAPI document (`/openapi.json`) and Swagger UI (`/docs`), both only with
 * `api.docs`. Registered before the routes, so that @fastify/swagger sees every one of them;
 * schemas with an `$id` become named components.
 */
import { readFileSync } from 'node:fs';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/schema.js';

/** The areas of the API, in the order the docs show them. */
export const OPENAPI_TAGS = [
  { name: 'produce', description: 'Send messages: sync, async, oneway, batch' },
  { name: 'transactions', description: 'Transactional half messages: prepare, commit, rollback' },
  { name: 'consume', description: 'Simple (POP) consumer: receive, ack, nack, invisible time' },
  { name: 'pull', description: 'Pull by offset, and consumer group offsets' },
  { name: 'topics', description: 'Topic admin' },
  { name: 'groups', description: 'Consumer group admin' },
  { name: 'dlq', description: "A group's dead-letter queue" },
  { name: 'query', description: 'Messages by id and by key' },
  { name: 'backends', description: 'Backends and how each provides every feature' },
  { name: 'health', description: 'Liveness and readiness' },
];

/** The version in the nearest package.json above this file (source or built tree). */
function packageVersion(): string {
  for (let url = new URL('./package.json', import.meta.url), i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mqgate' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: one folder up
    }
    url = new URL('../package.json', url);
  }
  return '0.0.0';
}

/** Registers @fastify/swagger, Swagger UI at `/docs` and `/openapi.json` when `api.docs` is on. */
export async function registerOpenApi(app: FastifyInstance, config: Config): Promise<void> {
  if (!config.api.docs) return;
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'mqgate',
        version: packageVersion(),
        description:
          'Apache RocketMQ semantics over REST: every failure answers `{error: {code, message, details?}}`.',
      },
      tags: OPENAPI_TAGS,
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
