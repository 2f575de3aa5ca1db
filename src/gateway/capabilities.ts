/**
 * The capability matrix: per backend and feature, `native` (the broker does it), `emulated`
 * (the core does it over the broker's primitives, with the one-line how below) or `none`
 * (refused with 422 MQ_ERR_FEATURE_UNSUPPORTED). A route may hand a native feature to the core.
 */
import type { Capabilities, Feature, Support } from '../../adapters/spi.js';
import { Feature as Features } from '../../adapters/spi.js';
import { MqgateError } from '../errors.js';

/** How the core supplies each feature, and what it costs. */
export const CORE_HOW: Readonly<Record<Feature, string>> = {
  delayLevels: "core scheduler: held in the gateway's log (SCHEDULE_TOPIC_XXXX), sent when due",
  timers: "core scheduler: held in the gateway's log (timer topic), sent when due",
  transactions: "core: half and op records in the gateway's log, sent on commit, check-back by the core",
  pop: "core: invisibility and receipt handles over the broker's stream, in-flight state journaled in the gateway's data dir",
  retry: "core: retry copies wait in the gateway's log (%RETRY%{group}) at the group's back-off",
  deadLetter: "core: dead letters kept in the gateway's log (%DLQ%{group}), browse and resend",
  broadcasting: 'core: one broker-side group per consumer',
  orderly: 'core: one delivery in flight per queue',
  tagFilter: 'core: filtered after delivery (skipped messages are still transferred)',
  sqlFilter: 'core: filtered after delivery (skipped messages are still transferred)',
  startPosition: 'core: none possible without the broker (needs its retention)',
  seek: 'core: none possible without the broker (needs its offsets)',
  keyQuery: "core: an index record per message in the gateway's log, written at send",
};

/** Features the core cannot supply: the broker has them or no one does. */
const BROKER_ONLY: ReadonlySet<Feature> = new Set([Features.seek, Features.startPosition]);

export interface FeatureView {
  readonly support: Support;
  readonly how: string;
}

/** A backend's whole matrix, with a route's `emulate` list applied: support, and how, per feature. */
export function matrix(
  caps: Capabilities,
  emulate: ReadonlySet<string> = new Set(),
): { features: Record<Feature, Support>; how: Record<Feature, string> } {
  const features = {} as Record<Feature, Support>;
  const how = {} as Record<Feature, string>;
  for (const f of Object.values(Features)) {
    const v = supportOf(caps, f, emulate);
    features[f] = v.support;
    how[f] = v.how;
  }
  return { features, how };
}

export function supportOf(caps: Capabilities, f: Feature, emulate: ReadonlySet<string>): FeatureView {
  const d = caps.features[f];
  if (d?.support === 'native' && !emulate.has(f)) return { support: 'native', how: d.how };
  if (d?.support === 'none' || (d === undefined && BROKER_ONLY.has(f)))
    return { support: 'none', how: d?.how ?? 'the broker cannot, and the core cannot without it' };
  return { support: 'emulated', how: CORE_HOW[f] };
}

/** The 422 for a feature no one supplies on a topic's backend. */
export function unsupported(f: Feature, backend: string, how: string): MqgateError {
  return new MqgateError('MQ_ERR_FEATURE_UNSUPPORTED', `${f} on backend "${backend}": ${how}`, {
    details: { feature: f, backend },
  });
}
