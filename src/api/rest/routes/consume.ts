import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MqgateError, isMqgateError } from '../../../errors.js';
import type { Gateway } from '../../../gateway/index.js';
import { MessageOutSchema, toMessageJson } from '../../../gateway/index.js';
import type { Peers } from '../../peers.js';
import { clientGone } from '../client-gone.js';
import { errorBody } from '../errors.js';
import type { AckEntry } from '../forward.js';
import { ackByOwner, forwardContext, relay } from '../forward.js';
import { jsonBodies } from '../json-body.js';
import { GroupParams, ReceiptHandle, TopicName, bodyErrorResponses } from '../schemas.js';

/** RocketMQ 5's SimpleConsumer takes at most 32 messages a receive. */
const MAX_RECEIVE = 32;

const Filter = Type.Object(
  {
    type: Type.Union([Type.Literal('TAG'), Type.Literal('SQL92')]),
    expression: Type.Optional(
      Type.String({
        maxLength: 65536,
        description: 'TAG: `*` or `A || B` (absent: `*`); SQL92: a condition.',
      }),
    ),
  },
  { additionalProperties: false },
);

const ReceiveBody = Type.Object(
  {
    topic: TopicName,
    filter: Type.Optional(Filter),
    maxMessages: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RECEIVE, default: MAX_RECEIVE })),
    invisibleSeconds: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 43_200,
        description: 'How long a received message stays invisible to the group (default 30).',
      }),
    ),
    waitSeconds: Type.Optional(
      Type.Number({ minimum: 0, maximum: 30, description: 'Long poll: wait this long for a message.' }),
    ),
  },
  { additionalProperties: false },
);

const AckBody = Type.Object(
  {
    topic: TopicName,
    receiptHandle: Type.Optional(ReceiptHandle),
    receiptHandles: Type.Optional(Type.Array(ReceiptHandle, { minItems: 1, maxItems: 1024 })),
  },
  { additionalProperties: false, description: 'Give receiptHandle or receiptHandles.' },
);

const AckEntry = Type.Object({
  receiptHandle: Type.String(),
  ok: Type.Boolean(),
  error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});
const AckResult = Type.Object({
  receiptHandle: Type.Optional(Type.String()),
  ok: Type.Optional(Type.Boolean()),
  results: Type.Optional(Type.Array(AckEntry, { description: 'The receiptHandles form: one entry each.' })),
});

const NackBody = Type.Object(
  {
    topic: TopicName,
    receiptHandle: ReceiptHandle,
    delayLevel: Type.Optional(Type.Integer({ minimum: 1, description: 'Retry after this level.' })),
  },
  { additionalProperties: false },
);
const NackResult = Type.Object({
  receiptHandle: Type.String(),
  outcome: Type.Union(
    [Type.Literal('RETRY'), Type.Literal('DLQ'), Type.Literal('SUSPENDED'), Type.Literal('DROPPED')],
    {
      description:
        'RETRY: back after the back-off; DLQ: retries used up; SUSPENDED: orderly; DROPPED: broadcasting.',
    },
  ),
});

const InvisibleBody = Type.Object(
  {
    topic: TopicName,
    receiptHandle: ReceiptHandle,
    invisibleSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 43_200 }),
  },
  { additionalProperties: false },
);
const InvisibleResult = Type.Object({
  receiptHandle: Type.String({ description: 'The new handle; the old one stops working.' }),
  invisibleUntil: Type.Integer(),
});

/** Seconds as whole ms. */
const ms = (s: number): number => Math.round(s * 1000);

const ELSEWHERE =
  ' A receipt handle of another gateway instance is forwarded to it and answered with its answer; 421 MQ_ERR_NOT_OWNER when it cannot be.';

/**
 * Simple (POP) consume, as RocketMQ 5's SimpleConsumer: `POST /v1/groups/{group}/receive`
 * (long poll with `waitSeconds`), `ack`, `nack`, `invisible-duration`. With `peers`
 * (cluster.instanceId set) receipt handles name the instance holding the delivery; a settle of
 * another instance's handle is forwarded there (or 421).
 */
export const consumeRoutes: FastifyPluginAsync<{ gateway: Gateway; peers: Peers | undefined }> = async (
  base,
  { gateway, peers },
) => {
  jsonBodies(base);
  const app = base.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/v1/groups/:group/receive',
    {
      schema: {
        tags: ['consume'],
        summary: 'Receive messages (POP), long polling up to waitSeconds',
        description:
          'Each message stays invisible to the group for invisibleSeconds unless acked; unacked, it comes back with deliveryAttempt + 1.',
        params: GroupParams,
        body: ReceiveBody,
        response: {
          200: Type.Object({ messages: Type.Array(MessageOutSchema) }),
          ...bodyErrorResponses(404),
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const gone = clientGone(req, reply);
      try {
        const got = await gateway.receive(req.params.group, {
          topic: b.topic,
          filter: b.filter,
          maxMessages: b.maxMessages,
          invisibleMs: b.invisibleSeconds === undefined ? undefined : ms(b.invisibleSeconds),
          // the contract allows 0..30 s; a gateway configured shorter waits its maximum
          waitMs: Math.min(ms(b.waitSeconds ?? 0), gateway.limits.maxWaitMs),
          signal: gone.signal,
        });
        const backend = gateway.backendOf(b.topic);
        const messages = got.map((m) => toMessageJson(m, backend));
        if (peers !== undefined)
          for (const m of messages)
            if (m.receiptHandle !== undefined) m.receiptHandle = peers.ids.out(m.receiptHandle);
        return { messages };
      } finally {
        gone.done();
      }
    },
  );

  app.post(
    '/v1/groups/:group/ack',
    {
      schema: {
        tags: ['consume'],
        summary: 'Ack deliveries by receipt handle',
        description:
          'One handle: 200, or its error (400 not ours, 410 expired). A list: 200 with a result per handle ' +
          '(handles of other gateway instances are forwarded to each owner in one call).' +
          ELSEWHERE,
        params: GroupParams,
        body: AckBody,
        response: { 200: AckResult, ...bodyErrorResponses(410, 421) },
      },
    },
    async (req, reply) => {
      const { group } = req.params;
      const { topic, receiptHandle, receiptHandles } = req.body;
      if ((receiptHandle === undefined) === (receiptHandles === undefined))
        throw new MqgateError('MQ_ERR_BAD_REQUEST', 'give receiptHandle or receiptHandles (one of them)');
      if (receiptHandle !== undefined) {
        let h = receiptHandle;
        if (peers !== undefined) {
          const p = peers.ids.parse(h);
          if (!p.mine) return relay(peers, p.owner, req, reply);
          h = p.id;
        }
        await gateway.ack(group, topic, h);
        return { receiptHandle, ok: true };
      }
      const ackOne = async (h: string, given = h): Promise<AckEntry> => {
        try {
          await gateway.ack(group, topic, h);
          return { receiptHandle: given, ok: true };
        } catch (e) {
          if (!isMqgateError(e)) throw e;
          const { code, message } = errorBody(e).error;
          return { receiptHandle: given, ok: false, error: { code, message } };
        }
      };
      const list = receiptHandles ?? [];
      if (peers === undefined) return { results: await Promise.all(list.map((h) => ackOne(h))) };
      const ctx = forwardContext(req);
      const path = `/v1/groups/${encodeURIComponent(group)}/ack`;
      const results = await ackByOwner(peers, list, ackOne, (owner, handles) =>
        peers.post(owner, path, { topic, receiptHandles: handles }, ctx),
      );
      return { results };
    },
  );

  app.post(
    '/v1/groups/:group/nack',
    {
      schema: {
        tags: ['consume'],
        summary: 'Nack a delivery: retry after the back-off, or dead-letter it',
        description: "After maxReconsumeTimes the message moves to the group's DLQ." + ELSEWHERE,
        params: GroupParams,
        body: NackBody,
        response: { 200: NackResult, ...bodyErrorResponses(410, 421) },
      },
    },
    async (req, reply) => {
      const { topic, receiptHandle, delayLevel } = req.body;
      let h = receiptHandle;
      if (peers !== undefined) {
        const p = peers.ids.parse(h);
        if (!p.mine) return relay(peers, p.owner, req, reply);
        h = p.id;
      }
      const o = delayLevel === undefined ? {} : { delayLevel };
      const outcome = await gateway.nack(req.params.group, topic, h, o);
      return { receiptHandle, outcome };
    },
  );

  app.post(
    '/v1/groups/:group/invisible-duration',
    {
      schema: {
        tags: ['consume'],
        summary: 'Change the invisible time of a delivery',
        description:
          'The new time counts from now; answers a new receipt handle (the old one stops working).' +
          ELSEWHERE,
        params: GroupParams,
        body: InvisibleBody,
        response: { 200: InvisibleResult, ...bodyErrorResponses(410, 421) },
      },
    },
    async (req, reply) => {
      const { topic, receiptHandle, invisibleSeconds } = req.body;
      if (peers === undefined)
        return gateway.changeInvisibleDuration(req.params.group, topic, receiptHandle, ms(invisibleSeconds));
      const p = peers.ids.parse(receiptHandle);
      if (!p.mine) return relay(peers, p.owner, req, reply);
      const r = await gateway.changeInvisibleDuration(req.params.group, topic, p.id, ms(invisibleSeconds));
      return { ...r, receiptHandle: peers.ids.out(r.receiptHandle) };
    },
  );
};
