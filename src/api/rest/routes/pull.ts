import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Gateway } from '../../../gateway/index.js';
import { MessageOutSchema, toMessageJson } from '../../../gateway/index.js';
import { jsonBodies } from '../json-body.js';
import {
  GroupParams,
  QueueOffsetSchema,
  TimeValue,
  TopicName,
  bodyErrorResponses,
  errorResponses,
  parseTime,
} from '../schemas.js';

const QueueParams = Type.Object(
  { topic: TopicName, queueId: Type.Integer({ minimum: 0, maximum: 1023 }) },
  { additionalProperties: false },
);

const PullQuery = Type.Object(
  {
    offset: Type.Integer({ minimum: 0, description: 'The queue offset to read from.' }),
    maxMessages: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, default: 32 })),
  },
  { additionalProperties: false },
);

const PullResult = Type.Object({
  status: Type.String({
    description: "RocketMQ's GetMessageStatus: FOUND, OFFSET_OVERFLOW_ONE (nothing new), OFFSET_TOO_SMALL...",
  }),
  messages: Type.Array(MessageOutSchema),
  nextOffset: Type.Integer({ description: 'Where the next pull starts.' }),
  minOffset: Type.Integer(),
  maxOffset: Type.Integer(),
});

const ClientId = Type.String({
  minLength: 1,
  maxLength: 255,
  description: 'Broadcasting groups keep offsets per client.',
});

const OffsetsQuery = Type.Object(
  { topic: TopicName, clientId: Type.Optional(ClientId) },
  { additionalProperties: false },
);

const CommitBody = Type.Object(
  {
    topic: TopicName,
    queueId: Type.Integer({ minimum: 0, maximum: 1023 }),
    offset: Type.Integer({ minimum: 0 }),
    clientId: Type.Optional(ClientId),
  },
  { additionalProperties: false },
);

const ResetBody = Type.Object(
  {
    topic: TopicName,
    to: Type.Union([Type.Literal('FIRST'), Type.Literal('LAST'), TimeValue], {
      description: 'FIRST, LAST, or a time (the first message stored at or after it)',
    }),
    clientId: Type.Optional(ClientId),
  },
  { additionalProperties: false },
);

const Offsets = Type.Object({
  group: Type.String(),
  topic: Type.String(),
  offsets: Type.Array(QueueOffsetSchema),
});

/**
 * Pull by offset (`GET /v1/topics/{topic}/queues/{queueId}/messages`) and a group's offsets:
 * list, commit, reset.
 */
export const pullRoutes: FastifyPluginAsync<{ gateway: Gateway }> = async (base, { gateway }) => {
  jsonBodies(base);
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/topics/:topic/queues/:queueId/messages',
    {
      schema: {
        tags: ['pull'],
        summary: 'Read a queue by offset (no group: replay, migration)',
        params: QueueParams,
        querystring: PullQuery,
        response: { 200: PullResult, ...errorResponses(404) },
      },
    },
    async (req) => {
      const { topic, queueId } = req.params;
      const r = await gateway.pull(topic, queueId, req.query.offset, req.query.maxMessages);
      const backend = gateway.backendOf(topic);
      return {
        status: r.status,
        messages: r.messages.map((m) => toMessageJson(m, backend)),
        nextOffset: r.nextBeginOffset,
        minOffset: r.minOffset,
        maxOffset: r.maxOffset,
      };
    },
  );

  app.get(
    '/v1/groups/:group/offsets',
    {
      schema: {
        tags: ['pull'],
        summary: "A group's committed offsets and lag on a topic's queues",
        params: GroupParams,
        querystring: OffsetsQuery,
        response: { 200: Offsets, ...errorResponses(404) },
      },
    },
    async (req) => {
      const { group } = req.params;
      const { topic, clientId } = req.query;
      return { group, topic, offsets: await gateway.offsets(group, topic, { clientId }) };
    },
  );

  app.put(
    '/v1/groups/:group/offsets',
    {
      schema: {
        tags: ['pull'],
        summary: "Commit a group's offset on one queue",
        description: 'What was in flight on that queue is forgotten (its receipt handles stop working).',
        params: GroupParams,
        body: CommitBody,
        response: { 200: Offsets, ...bodyErrorResponses(404) },
      },
    },
    async (req) => {
      const { group } = req.params;
      const { topic, queueId, offset, clientId } = req.body;
      await gateway.commitOffset(group, topic, queueId, offset, { clientId });
      return { group, topic, offsets: await gateway.offsets(group, topic, { clientId }) };
    },
  );

  app.post(
    '/v1/groups/:group/offsets/reset',
    {
      schema: {
        tags: ['pull'],
        summary: 'Reset a group on every queue of a topic: FIRST, LAST or a time',
        params: GroupParams,
        body: ResetBody,
        response: { 200: Offsets, ...bodyErrorResponses(404) },
      },
    },
    async (req) => {
      const { group } = req.params;
      const { topic, to, clientId } = req.body;
      const target = to === 'FIRST' || to === 'LAST' ? to : parseTime(to, 'to');
      return { group, topic, offsets: await gateway.resetOffsets(group, topic, target, { clientId }) };
    },
  );
};
