/**
 * The conformance suite on `rabbitmq` with `queueType: stream`: each topic is one RabbitMQ
 * stream per queue index that every group reads by offset (start positions and seek native,
 * mqgate keeps the offsets), with retry, DLQ and orderly groups the core's.
 */
import { brokerOutage } from '../helpers/broker-outage.js';
import { brokerAddress } from '../integration/brokers.js';
import { conformanceSuite } from './suite.js';

await conformanceSuite({
  name: 'rabbitlog',
  config: {
    gateway: {
      backends: { rabbitlog: { type: 'rabbitmq', url: brokerAddress('rabbitmq'), queueType: 'stream' } },
    },
  },
  restart: () => brokerOutage('rabbitmq'),
});
