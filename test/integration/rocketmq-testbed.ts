/**
 * What the RocketMQ tests share: the test bed's proxy and name server, the adapter's remoting
 * admin path on them, a producer, and SimpleConsumers closed with the bed.
 */
import { Producer, SimpleConsumer } from 'rocketmq-client-nodejs';
import { BrokerAdmin } from '../../adapters/rocketmq/broker-admin.js';
import { BrokerQueries } from '../../adapters/rocketmq/broker-queries.js';
import { RemotingClient } from '../../adapters/rocketmq/remoting-client.js';
import { brokerAddress, rocketmqNamesrv } from './brokers.js';

/** The client logs to ~/logs/rocketmq by default; tests keep only warnings, on stderr. */
export const clientLogger = {
  info: (): void => undefined,
  debug: (): void => undefined,
  warn: (...args: unknown[]): void => console.warn('[rocketmq-client]', ...args),
  error: (...args: unknown[]): void => console.error('[rocketmq-client]', ...args),
};

export class RocketmqTestbed {
  readonly endpoints = brokerAddress('rocketmq');
  readonly #remoting = new RemotingClient();
  readonly admin = new BrokerAdmin(this.#remoting, rocketmqNamesrv());
  readonly queries = new BrokerQueries(this.admin);
  readonly producer = new Producer({ endpoints: this.endpoints, namespace: '', logger: clientLogger });
  readonly #consumers: SimpleConsumer[] = [];

  async start(): Promise<this> {
    await this.producer.startup();
    return this;
  }

  /**
   * A started SimpleConsumer of `group` reading all of `topic`; long polls `awaitMs`. The group is
   * made first where it is not there yet: RocketMQ 5.5's proxy refuses a consumer of a group the
   * broker does not know ("group not found"), whatever `autoCreateSubscriptionGroup` says.
   */
  async consumer(topic: string, group: string, awaitMs = 3000): Promise<SimpleConsumer> {
    if ((await this.admin.groupConfig(group)) === undefined) await this.admin.createGroup(group);
    const c = new SimpleConsumer({
      endpoints: this.endpoints,
      namespace: '',
      logger: clientLogger,
      consumerGroup: group,
      subscriptions: new Map([[topic, '*']]),
      awaitDuration: awaitMs,
    });
    await c.startup();
    this.#consumers.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.#consumers) await c.shutdown().catch(() => undefined);
    await this.producer.shutdown().catch(() => undefined);
    this.#remoting.close();
  }
}
