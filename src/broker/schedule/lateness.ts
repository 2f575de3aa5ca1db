/** Lateness of scheduled deliveries (delivered time − due time), for metrics and the bench. */
export class Lateness {
  readonly #ring: Float64Array;
  #n = 0;
  #max = 0;
  count = 0;

  constructor(keep = 100_000) {
    this.#ring = new Float64Array(keep);
  }

  record(ms: number): void {
    this.#ring[this.#n++ % this.#ring.length] = ms;
    this.count++;
    if (ms > this.#max) this.#max = ms;
  }

  /** p50, p99 and max over the last `keep` deliveries (ms). */
  summary(): { count: number; p50: number; p99: number; max: number } {
    const n = Math.min(this.#n, this.#ring.length);
    const sorted = this.#ring.slice(0, n).sort();
    const at = (p: number): number => (n === 0 ? 0 : (sorted[Math.min(n - 1, Math.floor(p * n))] as number));
    return { count: this.count, p50: at(0.5), p99: at(0.99), max: this.#max };
  }
}
