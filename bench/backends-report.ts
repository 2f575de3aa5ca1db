/**
 * How bench/backends runs and prints a figure: rounds alternating the two sides (the side that
 * goes first alternates too), then one line for mqgate, one for the baseline and one for the
 * ratio against a target, with each round's ratio. Throughput takes the best round of each side,
 * latency the median.
 */
import type { Latency } from './backends-common.js';
import { settings } from './backends-common.js';

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const report = (name: string, value: string): void => console.log(`${name.padEnd(60)} ${value}`);
const progress = (line: string): void => void process.stderr.write(`  ${line}\n`);

export interface Rounds<T> {
  readonly mqgate: T[];
  readonly direct: T[];
}

/** Runs `rounds` rounds of a figure, the two sides in turn (who goes first alternates). */
export async function alternate<T>(
  name: string,
  mqgate: (round: number) => Promise<T>,
  direct: (round: number) => Promise<T>,
  show: (x: T) => string,
): Promise<Rounds<T>> {
  const out = { mqgate: [] as T[], direct: [] as T[] };
  for (let r = 0; r < settings.rounds; r++) {
    const order = r % 2 === 0 ? (['direct', 'mqgate'] as const) : (['mqgate', 'direct'] as const);
    for (const side of order) {
      const x = await (side === 'mqgate' ? mqgate : direct)(r);
      out[side].push(x);
      progress(`${name} round ${r + 1}: ${side} ${show(x)}`);
    }
  }
  return out;
}

const best = (xs: number[]): number => Math.max(...xs);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Prints a throughput figure; true when mqgate / baseline reached `target`. */
export function throughput(title: string, baseline: string, runs: Rounds<number>, target: number): boolean {
  const m = best(runs.mqgate);
  const d = best(runs.direct);
  report(title, `${fmt(m)} msgs/s`);
  report(`  ${baseline} (baseline)`, `${fmt(d)} msgs/s`);
  const ratio = m / d;
  report(
    `  ratio mqgate / direct (target >= ${target.toFixed(2)})`,
    `${ratio.toFixed(2)}${ratio >= target ? '' : '  MISSED'}   per round ${runs.direct
      .map((x, i) => ((runs.mqgate[i] ?? 0) / x).toFixed(2))
      .join(' ')}`,
  );
  return ratio >= target;
}

/** Prints a latency figure; true when the p99 mqgate adds is at most `targetMs` (none: no target). */
export function latency(title: string, baseline: string, runs: Rounds<Latency>, targetMs?: number): boolean {
  const line = (ls: Latency[]): string => {
    const p = (f: (l: Latency) => number): string => median(ls.map(f)).toFixed(2);
    return `p50 ${p((l) => l.p50)} ms, p99 ${p((l) => l.p99)} ms, max ${p((l) => l.max)} ms (${fmt(median(ls.map((l) => l.count)))} measured)`;
  };
  const added = median(runs.mqgate.map((l) => l.p99)) - median(runs.direct.map((l) => l.p99));
  const met = targetMs === undefined || added <= targetMs;
  report(title, line(runs.mqgate));
  report(`  ${baseline} (baseline)`, line(runs.direct));
  report(
    `  p99 added by mqgate${targetMs === undefined ? '' : ` (target <= ${targetMs} ms)`}`,
    `${added.toFixed(2)} ms${met ? '' : '  MISSED'}   per round ${runs.direct
      .map((x, i) => ((runs.mqgate[i]?.p99 ?? NaN) - x.p99).toFixed(2))
      .join(' ')}`,
  );
  return met;
}
