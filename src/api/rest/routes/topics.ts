import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MqgateError } from '../../../errors.js';
import type { Gateway } from '../../../gateway/index.js';
import { jsonBodies } from '../json-body.js';
import { Deleted, TopicParams, bodyErrorResponses, errorResponses } from '../schemas.js';

const Perm = Type.Union([Type.Literal('RW'), Type.Literal('R'), Type.Literal('W')], {
  description: "RocketMQ's PermName: RW (6), R (4), W (2)",
});
const Features = Type.Record(
  Type.String(),
  Type.Union([Type.Literal('native'), Type.Literal('emulated'), Type.Literal('none')]),
  { description: 'Per feature: native (the broker does it), emulated (the core does it) or none (422)' },
);
const How = Type.Record(Type.String(), Type.String(), {
  description: 'Per feature, one line on how it is done (or why it cannot be)',
});

const TopicSummary = Type.Object({
  name: Type.String(),
  queues: Type.Integer(),
  perm: Type.String(),
  backend: Type.String(),
  createdAt: Type.Integer(),
});

const TopicDetail = Type.Object({
  name: Type.String(),
  queues: Type.Integer({ description: 'Number of queues' }),
  perm: Type.String(),
  system: Type.Boolean(),
  backend: Type.String(),
  createdAt: Type.Integer(),
  queueOffsets: Type.Array(
    Type.Object({ queueId: Type.Integer(), minOffset: Type.Integer(), maxOffset: Type.Integer() }),
  ),
  capabilities: Features,
  how: How,
});

const TopicBody = Type.Object(
  {
    queues: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1024, description: 'Queues may grow, not shrink.' }),
    ),
    perm: Type.Optional(Perm),
    backend: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'Where the topic lives: local or a name under gateway.backends (default: the routes). Fixed once it has messages (409).',
      }),
    ),
  },
  { additionalProperties: false },
);

const Backend = Type.Object({
  name: Type.String(),
  type: Type.String({ description: 'local, local-bare, ...' }),
  status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
  lastError: Type.Optional(Type.String()),
  version: Type.Optional(Type.String({ description: "The broker's version, where it tells" })),
  default: Type.Boolean({ description: 'Where topics no route names live' }),
  maxMessageSize: Type.Integer({ description: 'Largest body the broker takes (bytes)' }),
  features: Features,
  how: How,
  backlog: Type.Object(
    {
      messages: Type.Integer({ description: 'Messages accepted and not forwarded to the backend yet' }),
      oldestTimestamp: Type.Optional(
        Type.Integer({ description: 'When the oldest of them was stored (ms since the epoch)' }),
      ),
      forwarded: Type.Integer({ description: 'Messages forwarded since the gateway started' }),
    },
    {
      description:
        "Store-and-forward (a route's storeAndForward): what waits in the gateway's log for this backend",
    },
  ),
});

/** Topic admin (`/v1/topics`, `/v1/topics/{topic}`) and `GET /v1/backends`. */
export const topicRoutes: FastifyPluginAsync<{ gateway: Gateway }> = async (base, { gateway }) => {
  jsonBodies(base, { emptyAsObject: true });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  const detail = async (name: string) => {
    const t = await gateway.getTopic(name);
    if (t === undefined) throw new MqgateError('MQ_ERR_TOPIC_NOT_FOUND', `"${name}"`);
    return t;
  };

  app.get(
    '/v1/topics',
    {
      schema: {
        tags: ['topics'],
        summary: 'List the topics (system topics left out)',
        response: { 200: Type.Object({ topics: Type.Array(TopicSummary) }), ...errorResponses() },
      },
    },
    async () => ({ topics: gateway.listTopics() }),
  );

  app.put(
    '/v1/topics/:topic',
    {
      schema: {
        tags: ['topics'],
        summary: 'Create a topic or change its queues and permission',
        description: 'Fields not given keep their value (on create: the default queues, RW, local).',
        params: TopicParams,
        body: TopicBody,
        response: { 200: TopicDetail, ...bodyErrorResponses() },
      },
    },
    async (req) => {
      await gateway.upsertTopic(req.params.topic, req.body);
      return detail(req.params.topic);
    },
  );

  app.get(
    '/v1/topics/:topic',
    {
      schema: {
        tags: ['topics'],
        summary: 'A topic: queues with their offsets, backend and its capabilities',
        params: TopicParams,
        response: { 200: TopicDetail, ...errorResponses(404) },
      },
    },
    async (req) => detail(req.params.topic),
  );

  app.delete(
    '/v1/topics/:topic',
    {
      schema: {
        tags: ['topics'],
        summary: 'Delete a topic',
        description:
          "On the embedded log its stored messages stay until retention removes them; on a broker that can (RabbitMQ), the topic's queues are deleted with their messages. System topics cannot be deleted (403).",
        params: TopicParams,
        response: { 200: Deleted, ...errorResponses(404) },
      },
    },
    async (req) => {
      const name = req.params.topic;
      if (!(await gateway.deleteTopic(name))) throw new MqgateError('MQ_ERR_TOPIC_NOT_FOUND', `"${name}"`);
      return { name, deleted: true };
    },
  );

  app.get(
    '/v1/backends',
    {
      schema: {
        tags: ['backends'],
        summary: 'The backends: status, and per feature native, emulated or none',
        response: { 200: Type.Object({ backends: Type.Array(Backend) }), ...errorResponses() },
      },
    },
    async () => ({ backends: gateway.listBackends() }),
  );
};
