/**
 * The conformance suite on `rocketmq`: the RocketMQ 5 of the test bed (scripts/brokers/up.sh),
 * its gRPC proxy for sends and POP (SimpleConsumer), the remoting path for topics and groups;
 * no feature native yet, so the core supplies them over send and consume.
 */
import { brokerOutage } from '../helpers/broker-outage.js';
import { brokerAddress, rocketmqNamesrv } from '../integration/brokers.js';
import { conformanceSuite } from './suite.js';

await conformanceSuite({
  name: 'rocketmq',
  config: {
    gateway: {
      backends: {
        rocketmq: { type: 'rocketmq', endpoints: brokerAddress('rocketmq'), namesrv: rocketmqNamesrv() },
      },
    },
  },
  // the broker and its proxy stop (SIGTERM) and start again on the same store; the name server stays
  restart: () => brokerOutage('rocketmq'),
});
