import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MqgateError } from '../../../errors.js';
import type { Gateway } from '../../../gateway/index.js';
import { MessageOutSchema, toMessageJson } from '../../../gateway/index.js';
import { jsonBodies } from '../json-body.js';
import {
  GroupName,
  GroupParams,
  MsgId,
  NoFields,
  SendResultSchema,
  TimeValue,
  TopicParams,
  errorResponses,
  parseTime,
} from '../schemas.js';

const Messages = Type.Object({ messages: Type.Array(MessageOutSchema) });

const KeyQuery = Type.Object(
  {
    key: Type.String({ minLength: 1, maxLength: 255, description: 'A key the messages were sent with.' }),
    begin: Type.Optional(TimeValue),
    end: Type.Optional(TimeValue),
    maxMessages: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, default: 32 })),
  },
  { additionalProperties: false },
);

const DlqQuery = Type.Object(
  {
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Offset in the DLQ queue.' })),
    maxMessages: Type.Optional(Type.Integer({ minimum: 1, maximum: 1024, default: 32 })),
  },
  { additionalProperties: false },
);

const DlqList = Type.Object({
  messages: Type.Array(MessageOutSchema),
  nextOffset: Type.Integer({ description: 'Where the next page starts.' }),
});

/**
 * Query and dead letters: `GET /v1/messages/{msgId}`, `GET /v1/topics/{topic}/messages?key=`,
 * `GET /v1/groups/{group}/dlq`, `POST /v1/groups/{group}/dlq/{msgId}/resend`.
 */
export const queryRoutes: FastifyPluginAsync<{ gateway: Gateway }> = async (base, { gateway }) => {
  jsonBodies(base, { emptyAsObject: true });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/messages/:msgId',
    {
      schema: {
        tags: ['query'],
        summary: 'A message by its id (the newest copy: retry and DLQ copies keep the id)',
        params: Type.Object({ msgId: MsgId }, { additionalProperties: false }),
        response: { 200: MessageOutSchema, ...errorResponses(404) },
      },
    },
    async (req) => {
      const m = await gateway.getMessage(req.params.msgId);
      if (m === undefined) throw new MqgateError('MQ_ERR_MSG_NOT_FOUND', req.params.msgId);
      return toMessageJson(m, gateway.backendOf(m.topic));
    },
  );

  app.get(
    '/v1/topics/:topic/messages',
    {
      schema: {
        tags: ['query'],
        summary: 'Messages of a topic by key, stored within [begin, end]',
        params: TopicParams,
        querystring: KeyQuery,
        response: { 200: Messages, ...errorResponses(404) },
      },
    },
    async (req) => {
      const { topic } = req.params;
      if ((await gateway.getTopic(topic)) === undefined)
        throw new MqgateError('MQ_ERR_TOPIC_NOT_FOUND', `"${topic}"`);
      const q = req.query;
      const found = await gateway.queryByKey(topic, q.key, {
        begin: q.begin === undefined ? undefined : parseTime(q.begin, 'begin'),
        end: q.end === undefined ? undefined : parseTime(q.end, 'end'),
        max: q.maxMessages,
      });
      const backend = gateway.backendOf(topic);
      return { messages: found.map((m) => toMessageJson(m, backend)) };
    },
  );

  app.get(
    '/v1/groups/:group/dlq',
    {
      schema: {
        tags: ['dlq'],
        summary: "Messages in a group's dead-letter queue",
        description: 'Each carries DLQ_ORIGIN_TOPIC and DLQ_ORIGIN_MESSAGE_ID in its properties.',
        params: GroupParams,
        querystring: DlqQuery,
        response: { 200: DlqList, ...errorResponses() },
      },
    },
    async (req) => {
      const { offset = 0, maxMessages } = req.query;
      const found = await gateway.deadLetters(req.params.group, { offset, max: maxMessages });
      const last = found.at(-1);
      return {
        messages: found.map((m) => toMessageJson(m, gateway.backendOf(m.topic))),
        nextOffset: last === undefined ? offset : last.queueOffset + 1,
      };
    },
  );

  app.post(
    '/v1/groups/:group/dlq/:msgId/resend',
    {
      schema: {
        tags: ['dlq'],
        summary: 'Send a dead letter back to its original topic',
        description: 'With a fresh reconsume count; the copy in the DLQ stays.',
        params: Type.Object({ group: GroupName, msgId: MsgId }, { additionalProperties: false }),
        body: NoFields,
        response: { 200: SendResultSchema, ...errorResponses(404, 413, 415) },
      },
    },
    async (req) => gateway.resendDeadLetter(req.params.group, req.params.msgId),
  );
};
