/**
 * The conformance suite on `kafka` with `retryTopics: false`: no topic is made per group, and
 * retries and dead letters are the core's (in the gateway's log), as on a cluster where the
 * partitions of a retry topic per group and topic are too many.
 */
import { brokerOutage } from '../helpers/broker-outage.js';
import { brokerAddress } from '../integration/brokers.js';
import { conformanceSuite } from './suite.js';

await conformanceSuite({
  name: 'kafkacore',
  config: {
    gateway: {
      backends: {
        kafkacore: { type: 'kafka', brokers: brokerAddress('kafka').split(','), retryTopics: false },
      },
    },
  },
  restart: () => brokerOutage('kafka'),
});
