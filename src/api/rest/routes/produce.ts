import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Config } from '../../../config/schema.js';
import type { Gateway } from '../../../gateway/index.js';
import { MessageInSchema, toSendInput } from '../../../gateway/index.js';
import { TopicParams } from '../schemas.js';

export const SendResultSchema = Type.Object(
  {
    msgId: Type.String(),
    topic: Type.String(),
    queueId: Type.Integer(),
    queueOffset: Type.Integer({ description: '-1 while a delayed or timed message waits in the scheduler' }),
    status: Type.String({ description: "RocketMQ's SendStatus: SEND_OK, FLUSH_DISK_TIMEOUT" }),
    deliverAt: Type.Optional(Type.Integer()),
  },
  { $id: 'SendResult' },
);

/** Produce: `POST /v1/topics/{topic}/messages` and `:batch`. */
export const produceRoutes: FastifyPluginAsync<{ gateway: Gateway; config: Config }> = async (
  base,
  { gateway },
) => {
  const app = base.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/topics/:topic/messages',
    {
      schema: {
        tags: ['produce'],
        summary: 'Send one message',
        params: TopicParams,
        body: MessageInSchema,
        response: { 200: SendResultSchema },
      },
    },
    async (req) => {
      const r = await gateway.send(req.params.topic, toSendInput(req.body));
      return r;
    },
  );
};
