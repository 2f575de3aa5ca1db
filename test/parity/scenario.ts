/**
 * What a parity scenario is: a script driven through the gateway's public API only, whose
 * outcome is plain JSON with nothing of the run in it (no msgIds, offsets or times: booleans,
 * counts, lists of bodies, buckets), so two backends' outcomes compare with `toEqual`.
 */
import type { Harness } from '../conformance/harness.js';

/** How exact a backend's timing is; both backends of a parity run are held to the same one. */
export interface Precision {
  /** A delayed message may come this much later than due (never earlier). */
  readonly delayMs: number;
  /** The born timestamp may lie this far outside the send's window (a broker's clock). */
  readonly clockSkewMs: number;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type Outcome = { [key: string]: Json };

export interface Scenario {
  /** Its name in the test's name and in `intended`. */
  readonly name: string;
  /** Features (as GET /v1/backends names them) without which it cannot run. */
  readonly needs: readonly string[];
  /** What it checks, for the test's name. */
  readonly what: string;
  readonly run: (h: Harness, p: Precision) => Promise<Outcome>;
}

/** A sorted copy of numbers (an outcome's bucket, whatever the arrival order). */
export function sortedNumbers(xs: Iterable<number>): number[] {
  return [...xs].sort((a, b) => a - b);
}

/** The number a body `prefix{n}` ends with. */
export function bodyIndex(body: unknown): number {
  return Number(/(\d+)$/.exec(String(body))?.[1] ?? Number.NaN);
}

/** The HTTP status of a failed call, or 200 when it succeeded. */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (e) {
    return typeof e === 'object' && e !== null && 'status' in e ? Number(e.status) : -1;
  }
}
