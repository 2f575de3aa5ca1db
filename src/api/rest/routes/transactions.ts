import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Gateway } from '../../../gateway/index.js';
import { CHECK_URL_PROP, MessageInSchema, toSendInput } from '../../../gateway/index.js';
import { MAX_OWNER_PREFIX } from '../../owner-ids.js';
import type { Peers } from '../../peers.js';
import { relay } from '../forward.js';
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
  {
    transactionId: Type.String({
      minLength: 1,
      maxLength: 64 + MAX_OWNER_PREFIX,
      description: 'From the prepare (with cluster.instanceId set: `{owner}~{id}`).',
    }),
  },
  { additionalProperties: false },
);

const Resolved = Type.Object({
  transactionId: Type.String(),
  state: Type.String({ description: 'COMMIT or ROLLBACK' }),
});

/**
 * Transactions (half messages): `POST /v1/topics/{topic}/transactions`, and
 * `POST /v1/transactions/{id}/commit` | `/rollback` (idempotent; 409 when resolved the other way).
 * With `peers` (cluster.instanceId set) a transaction id names the instance whose log holds the
 * half message; a commit or rollback of another instance's id is forwarded there (or 421).
 */
export const transactionRoutes: FastifyPluginAsync<{ gateway: Gateway; peers: Peers | undefined }> = async (
  base,
  { gateway, peers },
) => {
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
      const r = await gateway.prepare(req.params.topic, producerGroup, toSendInput(message, extra));
      return peers === undefined ? r : { ...r, transactionId: peers.ids.out(r.transactionId) };
    },
  );

  for (const op of ['commit', 'rollback'] as const)
    app.post(
      `/v1/transactions/:transactionId/${op}`,
      {
        schema: {
          tags: ['transactions'],
          summary: op === 'commit' ? 'Commit a transaction' : 'Roll a transaction back',
          description:
            'Idempotent: doing it again answers 200. 404 for an unknown id; 409 when it was resolved the other way. ' +
            'An id of another gateway instance is forwarded to it and answered with its answer; 421 MQ_ERR_NOT_OWNER when it cannot be (not a peer, unreachable).',
          params: TxParams,
          body: NoFields,
          response: { 200: Resolved, ...errorResponses(404, 409, 413, 415, 421) },
        },
      },
      async (req, reply) => {
        let id = req.params.transactionId;
        if (peers !== undefined) {
          const p = peers.ids.parse(id);
          if (!p.mine) return relay(peers, p.owner, req, reply);
          id = p.id;
        }
        const r = await (op === 'commit' ? gateway.commit(id) : gateway.rollback(id));
        return peers === undefined ? r : { ...r, transactionId: peers.ids.out(r.transactionId) };
      },
    );
};
