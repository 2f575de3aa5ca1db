import { describe, expect, it } from 'vitest';
import {
  firstHostPort,
  missingBrokersMessage,
  parseEnvFile,
  requiredBrokers,
  resolveAddresses,
} from '../setup/brokers-env.js';

describe('brokers env', () => {
  it('brokers env - parses KEY=value lines and ignores comments and blanks', () => {
    expect(parseEnvFile('# c\n\nKAFKA_BROKERS=127.0.0.1:9092\nRABBITMQ_URL=amqp://g:g@h:1/v?x=1\n')).toEqual({
      KAFKA_BROKERS: '127.0.0.1:9092',
      RABBITMQ_URL: 'amqp://g:g@h:1/v?x=1',
    });
  });

  it('brokers env - the environment wins over .state/brokers.env', () => {
    const { addresses, source } = resolveAddresses(
      { KAFKA_BROKERS: 'k:1' },
      { KAFKA_BROKERS: 'k:2', ROCKETMQ_ENDPOINTS: 'r:8081' },
    );
    expect(addresses).toEqual({ kafka: 'k:1', rocketmq: 'r:8081' });
    expect(source).toEqual({ kafka: 'env', rocketmq: 'file' });
  });

  it('brokers env - MQGATE_TEST_BROKERS narrows the required brokers and rejects unknown names', () => {
    expect(requiredBrokers(undefined)).toEqual(['rabbitmq', 'kafka', 'rocketmq']);
    expect(requiredBrokers('kafka, rocketmq')).toEqual(['kafka', 'rocketmq']);
    expect(requiredBrokers(' none ')).toEqual([]);
    expect(() => requiredBrokers('kafka,redis')).toThrow(/unknown broker 'redis'/);
  });

  it('brokers env - takes host and port from the first address of each kind', () => {
    expect(firstHostPort('rabbitmq', 'amqp://guest:guest@127.0.0.1')).toEqual({
      host: '127.0.0.1',
      port: 5672,
    });
    expect(firstHostPort('kafka', 'a:9092,b:9093')).toEqual({ host: 'a', port: 9092 });
    expect(firstHostPort('rocketmq', 'r:8081;s:8081')).toEqual({ host: 'r', port: 8081 });
  });

  it('brokers env - the failure message names each missing broker and the command to start it', () => {
    const text = missingBrokersMessage([
      { name: 'kafka', reason: 'KAFKA_BROKERS is not set' },
      { name: 'rocketmq', reason: 'nothing answers at 127.0.0.1:8081' },
    ]);
    expect(text).toContain('Apache Kafka: KAFKA_BROKERS is not set');
    expect(text).toContain('scripts/brokers/up.sh kafka rocketmq');
  });
});
