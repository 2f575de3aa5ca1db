/**
 * The conformance suite on `local-bare` with `seek: false`, standing for a queue broker that
 * cannot read by offset: seek is `none` there (422), key queries answer metadata only.
 */
import type { BareAdapter } from '../../adapters/local-bare/bare-adapter.js';
import { conformanceSuite } from './suite.js';

await conformanceSuite({
  name: 'queues',
  config: { gateway: { backends: { queues: { type: 'local-bare', seek: false } } } },
  restart: async (h) => {
    const a = h.adapter() as BareAdapter;
    await a.close();
    await new Promise((r) => setTimeout(r, 300));
    await a.connect();
  },
});
