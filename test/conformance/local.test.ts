/** The conformance suite on `local`: the embedded log, every feature native. */
import { conformanceSuite } from './suite.js';

await conformanceSuite({
  name: 'local',
  config: {},
  // the embedded log is the gateway's own: restarting it is restarting the gateway
  restart: (h) => h.restartGateway(),
});
