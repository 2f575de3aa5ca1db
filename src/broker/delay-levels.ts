import { MqgateError } from '../errors.js';

/** RocketMQ's `messageDelayLevel` default: 18 levels. */
export const DEFAULT_DELAY_LEVELS = '1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a delay level table such as `"1s 5s 10s 1m"` (units ms, s, m, h, d) into
 * milliseconds; level N is element N - 1.
 *
 * @param key the config key the string came from, named in the error
 * @throws MqgateError `MQ_ERR_CONFIG_INVALID` naming the key and the bad item
 */
export function parseDelayLevels(text: string, key = 'broker.delayLevels'): number[] {
  const items = text
    .trim()
    .split(/\s+/)
    .filter((s) => s.length > 0);
  if (items.length === 0)
    throw new MqgateError('MQ_ERR_CONFIG_INVALID', `${key} must list at least one delay such as "1s 5s"`);
  return items.map((item, i) => {
    const m = /^(\d+)(ms|s|m|h|d)$/.exec(item);
    const unit = m?.[2];
    if (m === null || unit === undefined)
      throw new MqgateError(
        'MQ_ERR_CONFIG_INVALID',
        `${key} item ${i + 1} "${item}" must be a number followed by ms, s, m, h or d`,
      );
    return Number(m[1]) * (UNIT_MS[unit] ?? 0);
  });
}

/** The table of delay levels the broker was configured with. */
export class DelayLevels {
  readonly millis: readonly number[];

  constructor(text: string = DEFAULT_DELAY_LEVELS, key?: string) {
    this.millis = parseDelayLevels(text, key);
  }

  get count(): number {
    return this.millis.length;
  }

  /** Milliseconds of a level; levels above the last are clamped to it, as RocketMQ does. */
  delayOf(level: number): number {
    const i = Math.min(Math.max(level, 1), this.millis.length) - 1;
    return this.millis[i] ?? 0;
  }

  /**
   * Checks a level given by a user.
   *
   * @throws MqgateError `MQ_ERR_DELAY_LEVEL_INVALID` unless 1 <= level <= count
   */
  check(level: number): number {
    if (!Number.isInteger(level) || level < 1 || level > this.millis.length)
      throw new MqgateError(
        'MQ_ERR_DELAY_LEVEL_INVALID',
        `${level} is not a level: use 1..${this.millis.length}`,
        { details: { level, levels: this.millis.length } },
      );
    return level;
  }
}
