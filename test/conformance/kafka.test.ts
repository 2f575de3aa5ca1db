/**
 * The conformance suite on `kafka`: the Kafka 4 of the test bed (scripts/brokers/up.sh), with
 * start positions and seek native, the rest the core's over partitions and consumer groups.
 */
import { brokerOutage } from '../helpers/broker-outage.js';
import { brokerAddress } from '../integration/brokers.js';
import { conformanceSuite } from './suite.js';

await conformanceSuite({
  name: 'kafka',
  config: { gateway: { backends: { kafka: { type: 'kafka', brokers: brokerAddress('kafka').split(',') } } } },
  // the broker process stops (a controlled shutdown) and starts again on the same data
  restart: () => brokerOutage('kafka'),
});
