/**
 * Parity of `local-bare` (an embedded log declaring only primitives: the core emulates every
 * feature) with `local` (the embedded log, every feature native). No broker needed.
 */
import { paritySuite } from './parity.js';

await paritySuite(
  { name: 'local', config: {}, restart: (h) => h.restartGateway() },
  {
    name: 'bare',
    config: { gateway: { backends: { bare: { type: 'local-bare' } } } },
    restart: () => Promise.reject(new Error('parity restarts no broker')),
  },
  // the core scheduler aims at a p99 lateness of 50 ms; the rest is the long-polling receive on
  // a machine shared with broker tests
  { precision: { delayMs: 250, clockSkewMs: 0 }, intended: [] },
);
