/** What a consumer group's consumption did since the broker started (for metrics and the admin API). */
export interface GroupStats {
  delivered: number;
  acked: number;
  nacked: number;
  /** Messages moved to `%RETRY%{group}` (after a nack or an expired invisible time). */
  retried: number;
  /** Messages moved to `%DLQ%{group}`. */
  deadLettered: number;
  /** Broadcasting failures, dropped as RocketMQ drops them. */
  dropped: number;
}

export class StatsTable {
  readonly #byGroup = new Map<string, GroupStats>();

  of(group: string): GroupStats {
    let s = this.#byGroup.get(group);
    if (s === undefined)
      this.#byGroup.set(
        group,
        (s = { delivered: 0, acked: 0, nacked: 0, retried: 0, deadLettered: 0, dropped: 0 }),
      );
    return s;
  }

  snapshot(group: string): Readonly<GroupStats> {
    return { ...this.of(group) };
  }
}
