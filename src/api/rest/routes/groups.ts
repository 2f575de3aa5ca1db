import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { GroupConfig, QueueOffset } from '../../../gateway/index.js';
import { MqgateError } from '../../../errors.js';
import type { Gateway } from '../../../gateway/index.js';
import { jsonBodies } from '../json-body.js';
import {
  Deleted,
  GroupParams,
  QueueOffsetSchema,
  TopicName,
  bodyErrorResponses,
  errorResponses,
} from '../schemas.js';

const ConsumeMode = Type.Union([Type.Literal('CLUSTERING'), Type.Literal('BROADCASTING')]);
const ConsumeFrom = Type.Union([Type.Literal('LAST'), Type.Literal('FIRST'), Type.Literal('TIMESTAMP')], {
  description: 'Where the group starts on a queue it has no offset for.',
});

const GroupSettings = {
  consumeMode: ConsumeMode,
  orderly: Type.Boolean({ description: "A queue's next message only after the previous one is acked." }),
  maxReconsumeTimes: Type.Integer({
    minimum: -1,
    description: 'Retries before the DLQ; -1 unbounded (default 16, orderly -1).',
  }),
  retryDelayLevels: Type.Array(Type.Integer({ minimum: 1 }), {
    minItems: 1,
    maxItems: 64,
    description: 'Delay level of the Nth retry (the last repeats); default 3 + reconsumeTimes.',
  }),
  consumeFrom: ConsumeFrom,
  consumeTimestamp: Type.Integer({ minimum: 0, description: 'consumeFrom TIMESTAMP: ms since the epoch.' }),
  suspendMs: Type.Integer({ minimum: 1, description: 'Orderly: how long a nacked queue waits.' }),
};

const GroupBody = Type.Object(
  {
    consumeMode: Type.Optional(GroupSettings.consumeMode),
    orderly: Type.Optional(GroupSettings.orderly),
    maxReconsumeTimes: Type.Optional(GroupSettings.maxReconsumeTimes),
    retryDelayLevels: Type.Optional(GroupSettings.retryDelayLevels),
    consumeFrom: Type.Optional(GroupSettings.consumeFrom),
    consumeTimestamp: Type.Optional(GroupSettings.consumeTimestamp),
    suspendMs: Type.Optional(GroupSettings.suspendMs),
  },
  { additionalProperties: false },
);

const GroupConfigSchema = Type.Object(
  {
    name: Type.String(),
    ...GroupSettings,
    retryDelayLevels: Type.Optional(GroupSettings.retryDelayLevels),
    consumeTimestamp: Type.Optional(GroupSettings.consumeTimestamp),
    createdAt: Type.Integer(),
  },
  { $id: 'GroupConfig' },
);

const Consumer = Type.Object({
  clientId: Type.String(),
  topic: Type.String(),
  queueIds: Type.Array(Type.Integer()),
  retry: Type.Boolean(),
  credit: Type.Integer(),
  unsettled: Type.Integer(),
});

const Stats = Type.Object(
  {
    delivered: Type.Integer(),
    acked: Type.Integer(),
    nacked: Type.Integer(),
    retried: Type.Integer({ description: 'Moved to %RETRY%{group}.' }),
    deadLettered: Type.Integer({ description: 'Moved to %DLQ%{group}.' }),
    dropped: Type.Integer({ description: 'Broadcasting failures, dropped as RocketMQ drops them.' }),
  },
  { description: 'Since the gateway started.' },
);

const GroupDetail = Type.Object({
  config: GroupConfigSchema,
  consumers: Type.Array(Consumer, { description: 'Live (push) consumers.' }),
  subscriptions: Type.Array(
    Type.Object({ topic: Type.String(), lag: Type.Integer(), queues: Type.Array(QueueOffsetSchema) }),
    { description: 'Topics of the live consumers, and the one asked for with ?topic=, with lag per queue.' },
  ),
  stats: Stats,
  retryMessages: Type.Integer({ description: 'Messages in %RETRY%{group}.' }),
  dlqMessages: Type.Integer({ description: 'Messages in %DLQ%{group}.' }),
});

/** A group's settings as JSON (a copy: the registry's are read-only). */
const groupJson = (g: GroupConfig) => ({
  ...g,
  retryDelayLevels: g.retryDelayLevels === undefined ? undefined : [...g.retryDelayLevels],
});

/** Consumer group admin: `GET /v1/groups`, `PUT|GET|DELETE /v1/groups/{group}`. */
export const groupRoutes: FastifyPluginAsync<{ gateway: Gateway }> = async (base, { gateway }) => {
  jsonBodies(base, { emptyAsObject: true });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/groups',
    {
      schema: {
        tags: ['groups'],
        summary: 'List the consumer groups',
        response: { 200: Type.Object({ groups: Type.Array(GroupConfigSchema) }), ...errorResponses() },
      },
    },
    async () => ({ groups: gateway.listGroups().map(groupJson) }),
  );

  app.put(
    '/v1/groups/:group',
    {
      schema: {
        tags: ['groups'],
        summary: 'Create a consumer group or change its settings',
        description:
          'Fields not given keep their value (on create: CLUSTERING, not orderly, 16 retries, LAST).',
        params: GroupParams,
        body: GroupBody,
        response: { 200: GroupConfigSchema, ...bodyErrorResponses() },
      },
    },
    async (req) => groupJson(gateway.upsertGroup(req.params.group, req.body)),
  );

  app.get(
    '/v1/groups/:group',
    {
      schema: {
        tags: ['groups'],
        summary: 'A group: settings, live consumers, lag per queue, retry and DLQ counts',
        description:
          'Lag is shown for the topics of live consumers, and for ?topic= (which starts the group on it if it never consumed it).',
        params: GroupParams,
        querystring: Type.Object({ topic: Type.Optional(TopicName) }, { additionalProperties: false }),
        response: { 200: GroupDetail, ...errorResponses(404) },
      },
    },
    async (req) => {
      const { group } = req.params;
      const view = gateway.getGroup(group);
      if (view === undefined) throw new MqgateError('MQ_ERR_GROUP_NOT_FOUND', `"${group}"`);
      const topics = new Set(view.consumers.map((c) => c.topic));
      if (req.query.topic !== undefined) topics.add(req.query.topic);
      const subscriptions: { topic: string; lag: number; queues: QueueOffset[] }[] = [];
      for (const topic of topics) {
        const queues = await gateway.offsets(group, topic);
        subscriptions.push({ topic, lag: queues.reduce((n, q) => n + q.lag, 0), queues });
      }
      return { ...view, config: groupJson(view.config), subscriptions };
    },
  );

  app.delete(
    '/v1/groups/:group',
    {
      schema: {
        tags: ['groups'],
        summary: 'Delete a consumer group (its live consumers are closed)',
        params: GroupParams,
        response: { 200: Deleted, ...errorResponses(404) },
      },
    },
    async (req) => {
      const name = req.params.group;
      if (!gateway.deleteGroup(name)) throw new MqgateError('MQ_ERR_GROUP_NOT_FOUND', `"${name}"`);
      return { name, deleted: true };
    },
  );
};
