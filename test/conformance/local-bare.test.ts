/**
 * The conformance suite on `local-bare`: an embedded log of its own that declares only the
 * primitives and seek, so every other feature is the core's emulation.
 */
import type { BareAdapter } from '../../adapters/local-bare/bare-adapter.js';
import { conformanceSuite } from './suite.js';

await conformanceSuite({
  name: 'bare',
  config: { gateway: { backends: { bare: { type: 'local-bare' } } } },
  // its broker is its log: closed (sends answer 503 meanwhile) and opened again
  restart: async (h) => {
    const a = h.adapter() as BareAdapter;
    await a.close();
    await new Promise((r) => setTimeout(r, 300));
    await a.connect();
  },
});
