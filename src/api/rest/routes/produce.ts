import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { SendResult } from '../../../gateway/index.js';
import type { Config } from '../../../config/schema.js';
import { MqgateError } from '../../../errors.js';
import type { Gateway } from '../../../gateway/index.js';
import { MAX_BATCH, MessageInSchema, toSendInput } from '../../../gateway/index.js';
import type { Accepted } from '../async-send.js';
import { sendLater } from '../async-send.js';
import { IdempotencyCache } from '../idempotency.js';
import { jsonBodies } from '../json-body.js';
import {
  CallbackUrl,
  SendResultSchema,
  TopicParams,
  bodyErrorResponses,
  checkCallbackUrl,
} from '../schemas.js';

export { SendResultSchema } from '../schemas.js';

const SendMode = Type.Union([Type.Literal('sync'), Type.Literal('async'), Type.Literal('oneway')], {
  description:
    'sync: 200 with the result once stored. async: 202 at once with the msgId; the result is POSTed to callbackUrl. oneway: 202, never confirmed.',
});

const SendQuery = Type.Object(
  {
    mode: Type.Optional(SendMode),
    callbackUrl: Type.Optional(CallbackUrl('mode=async: where the result is POSTed.')),
  },
  { additionalProperties: false },
);

const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 255,
  description: 'The same key (per topic) within the dedupe window returns the first result.',
});

const SendHeaders = Type.Object({
  'idempotency-key': Type.Optional(IdempotencyKey),
  'x-callback-url': Type.Optional(CallbackUrl('Same as the callbackUrl query parameter.')),
});

const AcceptedSchema = Type.Object({
  msgId: Type.String(),
  topic: Type.String(),
  mode: Type.Union([Type.Literal('async'), Type.Literal('oneway')]),
});

const BatchBody = Type.Object(
  { messages: Type.Array(MessageInSchema, { minItems: 1, maxItems: MAX_BATCH }) },
  { additionalProperties: false },
);
const BatchResult = Type.Object({ results: Type.Array(SendResultSchema) });

type Answer =
  { readonly status: 200; readonly body: SendResult } | { readonly status: 202; readonly body: Accepted };

/**
 * Produce: `POST /v1/topics/{topic}/messages` (modes sync, async, oneway) and
 * `POST /v1/topics/{topic}/messages:batch`, both with `Idempotency-Key`.
 */
export const produceRoutes: FastifyPluginAsync<{ gateway: Gateway; config: Config }> = async (
  base,
  { gateway, config },
) => {
  jsonBodies(base);
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  const log = gateway.log.child({ component: 'produce' });
  const window = { windowMs: config.api.idempotencyWindowMs, maxKeys: config.api.idempotencyMaxKeys };
  // one cache per route: a key of a single send never answers a batch
  const sends = new IdempotencyCache<Answer>(window);
  const batches = new IdempotencyCache<{ results: SendResult[] }>(window);
  const callback = { timeoutMs: config.api.checkTimeoutMs, retries: config.api.checkRetries, log };

  app.post(
    '/v1/topics/:topic/messages',
    {
      schema: {
        tags: ['produce'],
        summary: 'Send one message',
        description:
          'RocketMQ send: sync (default), async (202, result POSTed to callbackUrl) or oneway (202, never confirmed).',
        params: TopicParams,
        querystring: SendQuery,
        headers: SendHeaders,
        body: MessageInSchema,
        response: { 200: SendResultSchema, 202: AcceptedSchema, ...bodyErrorResponses(404) },
      },
    },
    async (req, reply) => {
      const { topic } = req.params;
      const mode = req.query.mode ?? 'sync';
      const rawUrl = req.query.callbackUrl ?? req.headers['x-callback-url'];
      if (rawUrl !== undefined && mode !== 'async')
        throw new MqgateError('MQ_ERR_BAD_REQUEST', `a callback URL needs mode=async, not mode=${mode}`);
      const callbackUrl = rawUrl === undefined ? undefined : checkCallbackUrl(rawUrl, 'callbackUrl');
      const input = toSendInput(req.body);
      const key = req.headers['idempotency-key'];
      // the common case, kept short: a plain synchronous send
      if (key === undefined && mode === 'sync') return gateway.send(topic, input);
      const { answer, replayed } = sends.run(topic, key, async () =>
        mode === 'sync'
          ? { status: 200, body: await gateway.send(topic, input) }
          : {
              status: 202,
              body: await sendLater(gateway, topic, input, { mode, callbackUrl, callback, log }),
            },
      );
      const a = await answer;
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return a.status === 202 ? reply.code(202).send(a.body) : reply.code(200).send(a.body);
    },
  );

  app.post(
    '/v1/topics/:topic/messages::batch',
    {
      schema: {
        tags: ['produce'],
        summary: 'Send a batch of messages to one topic',
        description: `RocketMQ batch rules: 1..${MAX_BATCH} messages, none delayed or timed, bodies together within maxMessageSize.`,
        params: TopicParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
        body: BatchBody,
        response: { 200: BatchResult, ...bodyErrorResponses(404) },
      },
    },
    async (req, reply) => {
      const { topic } = req.params;
      const inputs = req.body.messages.map((m) => toSendInput(m));
      const { answer, replayed } = batches.run(topic, req.headers['idempotency-key'], async () => ({
        results: await gateway.sendBatch(topic, inputs),
      }));
      const results = await answer;
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return results;
    },
  );
};
