/**
 * The conformance suite on `rabbitmq`: the RabbitMQ of the test bed (scripts/brokers/up.sh),
 * with delays, retry, DLQ and orderly groups native, the rest the core's.
 */
import { brokerAddress } from '../integration/brokers.js';
import { brokerOutage } from '../helpers/broker-outage.js';
import { conformanceSuite } from './suite.js';

await conformanceSuite({
  name: 'rabbit',
  config: { gateway: { backends: { rabbit: { type: 'rabbitmq', url: brokerAddress('rabbitmq') } } } },
  // RabbitMQ stops its application (connections drop, queues go down) and starts it again
  restart: () => brokerOutage('rabbitmq'),
});
