/**
 * The adapters by type: the one module besides spi.ts that the rest of mqgate imports from
 * adapters/ (an eslint rule keeps it so). Each adapter's broker client stays in its folder.
 */
import type { Logger } from 'pino';
import path from 'node:path';
import type { BackendConfig } from '../src/config/schema.js';
import { CommitWriter } from './kafka/commit-writer.js';
import { KafkaAdapter } from './kafka/kafka-adapter.js';
import { BareAdapter } from './local-bare/bare-adapter.js';
import { RabbitAdapter } from './rabbitmq/rabbitmq-adapter.js';
import { RocketmqAdapter } from './rocketmq/rocketmq-adapter.js';
import type { BrokerAdapter } from './spi.js';

export { LocalAdapter } from './local/local-adapter.js';
export type * from './spi.js';
export { Feature } from './spi.js';

export interface AdapterContext {
  /** The gateway's data directory: a default home for adapters that keep files. */
  readonly dataDir: string;
  readonly maxMessageSize: number;
  /** The gateway's delay levels in ms (level n at index n - 1), for brokers that delay natively. */
  readonly delayLevelsMs: readonly number[];
  readonly logger: Logger;
}

/** The adapter of a configured backend (`gateway.backends.{name}`). */
export function createAdapter(name: string, c: BackendConfig, ctx: AdapterContext): BrokerAdapter {
  switch (c.type) {
    case 'local-bare':
      return new BareAdapter({
        dir: c.path ?? path.join(ctx.dataDir, 'backends', name),
        seek: c.seek,
        maxMessageSize: ctx.maxMessageSize,
        logger: ctx.logger.child({ backend: name }),
      });
    case 'rabbitmq':
      return new RabbitAdapter({
        name,
        url: c.url ?? '',
        queueType: c.queueType,
        streamMaxAge: c.streamMaxAge,
        dir: c.path ?? path.join(ctx.dataDir, 'backends', name),
        confirmTimeoutMs: c.confirmTimeoutMs,
        connectTimeoutMs: c.connectTimeoutMs,
        deliveryLimit: c.deliveryLimit,
        releaseAfterMs: c.releaseAfterMs,
        memberExpiresMs: c.memberExpiresMs,
        delayLevelsMs: ctx.delayLevelsMs,
        maxMessageSize: ctx.maxMessageSize,
        logger: ctx.logger.child({ backend: name }),
      });
    case 'kafka':
      return new KafkaAdapter({
        name,
        brokers: c.brokers ?? [],
        clientId: c.clientId,
        confirmTimeoutMs: c.confirmTimeoutMs,
        connectTimeoutMs: c.connectTimeoutMs,
        maxMessageBytes: c.maxMessageBytes,
        retryTopics: c.retryTopics,
        sessionTimeoutMs: c.sessionTimeoutMs,
        maxMessageSize: ctx.maxMessageSize,
        delayLevelsMs: ctx.delayLevelsMs,
        // read (or made) on the first transactional commit only
        transactionalId: () =>
          c.transactionalId ??
          CommitWriter.transactionalId(c.path ?? path.join(ctx.dataDir, 'backends', name)),
        logger: ctx.logger.child({ backend: name }),
      });
    case 'rocketmq':
      return new RocketmqAdapter({
        name,
        endpoints: c.endpoints ?? '',
        namesrv: c.namesrv ?? '',
        confirmTimeoutMs: c.confirmTimeoutMs,
        connectTimeoutMs: c.connectTimeoutMs,
        maxMessageSize: ctx.maxMessageSize,
        logger: ctx.logger.child({ backend: name }),
      });
  }
}
