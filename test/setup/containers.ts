/**
 * Fallback for machines with a Docker engine: start the missing brokers with testcontainers,
 * on the same fixed ports as scripts/brokers/up.sh and docker-compose.yml, so the addresses
 * the tests see are the same whichever way the brokers came up.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StartedTestContainer } from 'testcontainers';
import type { BrokerName } from './brokers-env.js';

/** The broker config docker-compose.yml uses too. */
const DOCKER_BROKER_CONF = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'scripts/brokers/conf/rocketmq/docker-broker.conf',
);

export interface StartedBroker {
  address: string;
  containers: StartedTestContainer[];
}

/** True when testcontainers finds a container runtime it can talk to. */
export async function dockerReachable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startWithContainers(name: BrokerName): Promise<StartedBroker> {
  const tc = await import('testcontainers');
  const { GenericContainer, Wait } = tc;
  switch (name) {
    case 'rabbitmq': {
      const c = await new GenericContainer('rabbitmq:3.10')
        .withExposedPorts({ container: 5672, host: 5672 })
        .withWaitStrategy(Wait.forLogMessage('Server startup complete'))
        .start();
      return { address: 'amqp://guest:guest@127.0.0.1:5672', containers: [c] };
    }
    case 'kafka': {
      const c = await new GenericContainer('apache/kafka:4.4.0')
        .withExposedPorts({ container: 9092, host: 9092 })
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
          KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:9092',
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_NUM_PARTITIONS: '4',
          KAFKA_HEAP_OPTS: '-Xms512m -Xmx512m',
        })
        .withWaitStrategy(Wait.forLogMessage('Kafka Server started'))
        .start();
      return { address: '127.0.0.1:9092', containers: [c] };
    }
    case 'rocketmq': {
      const network = await new tc.Network().start();
      const namesrv = await new GenericContainer('apache/rocketmq:5.3.3')
        .withNetwork(network)
        .withNetworkAliases('namesrv')
        .withExposedPorts({ container: 9876, host: 9876 })
        .withEnvironment({ JAVA_OPT_EXT: '-Xms256m -Xmx256m' })
        .withCommand(['sh', 'mqnamesrv'])
        .withWaitStrategy(Wait.forLogMessage('The Name Server boot success'))
        .start();
      const broker = await new GenericContainer('apache/rocketmq:5.3.3')
        .withNetwork(network)
        .withExposedPorts({ container: 8081, host: 8081 }, { container: 10911, host: 10911 })
        .withEnvironment({ JAVA_OPT_EXT: '-Xms768m -Xmx768m -XX:MaxDirectMemorySize=512m' })
        .withCopyFilesToContainer([{ source: DOCKER_BROKER_CONF, target: '/home/rocketmq/broker.conf' }])
        .withCommand([
          'sh',
          'mqbroker',
          '-n',
          'namesrv:9876',
          '--enable-proxy',
          '-c',
          '/home/rocketmq/broker.conf',
        ])
        .withWaitStrategy(Wait.forListeningPorts())
        .start();
      return { address: '127.0.0.1:8081', containers: [broker, namesrv] };
    }
  }
}
