/**
 * The parity (differential) suite of issue 19: every scenario runs on a reference backend and
 * on a candidate, each behind a gateway of its own, and the candidate's outcome must equal the
 * reference's. A difference documented in docs/SEMANTICS-DIFF.md is listed in `intended` with
 * the candidate's value: the test then says so in its name and asserts that exact difference,
 * so any other change still fails. A scenario needing a feature either backend declares `none`
 * is skipped with the reason in its name.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { BackendInfo } from '../../src/client/types.js';
import type { BackendFixture } from '../conformance/harness.js';
import { Harness } from '../conformance/harness.js';
import type { Json, Outcome, Precision, Scenario } from './scenario.js';
import { scenarios } from './scenarios.js';

/** A difference from the reference that is intended (and written down in docs/SEMANTICS-DIFF.md). */
export interface IntendedDifference {
  readonly scenario: string;
  /** Keys into the outcome down to the value that differs; the whole outcome when empty. */
  readonly path: readonly string[];
  /** Why it is intended: the test's name carries it. */
  readonly reason: string;
  /** The candidate's value there (`undefined`: the candidate has none). */
  readonly candidate: Json | undefined;
}

export interface ParityOptions {
  readonly precision: Precision;
  readonly intended: readonly IntendedDifference[];
}

function valueAt(outcome: Json | undefined, path: readonly string[]): Json | undefined {
  let at = outcome;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = at[key];
  }
  return at;
}

/** A copy of the outcome without the value at `path` (both sides lose it before the rest is compared). */
function without(outcome: Outcome, path: readonly string[]): Outcome {
  const copy = structuredClone(outcome);
  const parent = valueAt(copy, path.slice(0, -1));
  const last = path.at(-1);
  if (last !== undefined && parent !== null && typeof parent === 'object' && !Array.isArray(parent))
    delete parent[last];
  return copy;
}

/** A gateway over the fixture, stopped after the file, with what its backend declares. */
async function started(fixture: BackendFixture): Promise<{ h: Harness; info: BackendInfo }> {
  const h = new Harness(fixture);
  await h.start();
  afterAll(() => h.stop());
  const info = (await h.client.backends()).backends.find((b) => b.name === fixture.name);
  if (info === undefined) throw new Error(`the gateway has no backend ${fixture.name}`);
  return { h, info };
}

export async function paritySuite(
  reference: BackendFixture,
  candidate: BackendFixture,
  o: ParityOptions,
): Promise<void> {
  const ref = await started(reference);
  const cand = await started(candidate);
  const unknown = o.intended.filter((d) => !scenarios.some((s) => s.name === d.scenario));
  if (unknown.length > 0)
    throw new Error(`intended names no scenario: ${unknown.map((d) => d.scenario).join(', ')}`);

  describe(`parity of ${candidate.name} with ${reference.name}`, () => {
    for (const s of scenarios) {
      const title = `${s.name} - ${s.what}`;
      const missing = [ref, cand].flatMap(({ info }) =>
        s.needs
          .filter((f) => info.features[f] === 'none')
          .map((f) => `${info.name} declares ${f} none: ${info.how[f] ?? ''}`),
      );
      if (missing.length > 0) {
        it.skip(`${title} (skipped: ${missing.join('; ')})`, () => undefined);
        continue;
      }
      const diffs = o.intended.filter((d) => d.scenario === s.name);
      const name =
        diffs.length === 0 ? title : `${title} differs (intended): ${diffs.map((d) => d.reason).join('; ')}`;
      it(name, () => compare(s, diffs), 90_000);
    }
  });

  async function compare(s: Scenario, diffs: readonly IntendedDifference[]): Promise<void> {
    let expected = await s.run(ref.h, o.precision);
    let actual = await s.run(cand.h, o.precision);
    for (const d of diffs) {
      const where = d.path.length === 0 ? 'the outcome' : d.path.join(' > ');
      expect(valueAt(actual, d.path), `${where} on ${candidate.name}: the documented value`).toEqual(
        d.candidate,
      );
      // an entry the candidate no longer differs on is stale: take it out of intended and the doc
      expect(valueAt(expected, d.path), `${where} on ${reference.name} still differs`).not.toEqual(
        d.candidate,
      );
      expected = without(expected, d.path);
      actual = without(actual, d.path);
    }
    if (diffs.some((d) => d.path.length === 0)) return;
    expect(actual).toEqual(expected);
  }
}
