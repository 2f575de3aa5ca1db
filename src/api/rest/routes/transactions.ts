import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Gateway } from '../../../gateway/index.js';
import { CHECK_URL_PROP, MessageInSchema, toSendInput } from '../../../gateway/index.js';
import { jsonBodies } from '../json-body.js';
import {
  CallbackUrl,
  GroupName,
  NoFields,
  TopicParams,
  bodyErrorResponses,
  checkCallbackUrl,
  errorResponses,
} from '../schemas.js';

const PrepareBody = Type.Object(
  {
    producerGroup: GroupName,
    message: MessageInSchema,
    checkUrl: Type.Optional(
      CallbackUrl(
        'Check-back: the gateway POSTs {transactionId, msgId, topic, producerGroup, checkTimes, message} here and expects {state: COMMIT | ROLLBACK | UNKNOWN}.',
      ),
    ),
  },
  { additionalProperties: false },
);

const Prepared = Type.Object({
  transactionId: Type.String(),
  msgId: Type.String(),
  status: Type.String({ description: "RocketMQ's SendStatus of the half message" }),
  topic: Type.String(),
  queueId: Type.Integer(),
});

const TxParams = Type.Object(
  { transactionId: Type.String({ minLength: 1, maxLength: 64, description: 'From the prepare.' }) },
  { additionalProperties: false },
);

const Resolved = Type.Object({
  transactionId: Type.String(),
  state: Type.String({ description: 'COMMIT or ROLLBACK' }),
});

/**
 * Transactions (half messages): `POST /v1/topics/{topic}/transactions`, and
 * `POST /v1/transactions/{id}/commit` | `/rollback` (idempotent; 409 when resolved the other way).
 */
export const transactionRoutes: FastifyPluginAsync<{ gateway: Gateway }> = async (base, { gateway }) => {
  jsonBodies(base, { emptyAsObject: true });
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/topics/:topic/transactions',
    {
      schema: {
        tags: ['transactions'],
        summary: 'Prepare a transactional (half) message',
        description: 'The message is stored but invisible until committed; unresolved ones are checked back.',
        params: TopicParams,
        body: PrepareBody,
        response: { 200: Prepared, ...bodyErrorResponses(404) },
      },
    },
    async (req) => {
      const { producerGroup, message, checkUrl } = req.body;
      const extra =
        checkUrl === undefined ? undefined : { [CHECK_URL_PROP]: checkCallbackUrl(checkUrl, 'checkUrl') };
      return gateway.prepare(req.params.topic, producerGroup, toSendInput(message, extra));
    },
  );

  for (const op of ['commit', 'rollback'] as const)
    app.post(
      `/v1/transactions/:transactionId/${op}`,
      {
        schema: {
          tags: ['transactions'],
          summary: op === 'commit' ? 'Commit a transaction' : 'Roll a transaction back',
          description: `Idempotent: doing it again answers 200. 404 for an unknown id; 409 when it was resolved the other way.`,
          params: TxParams,
          body: NoFields,
          response: { 200: Resolved, ...errorResponses(404, 409, 413, 415) },
        },
      },
      async (req) =>
        op === 'commit'
          ? gateway.commit(req.params.transactionId)
          : gateway.rollback(req.params.transactionId),
    );
};
