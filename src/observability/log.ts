/**
 * The gateway's logger: pino JSON lines, or human-readable lines (pino-pretty) when asked or
 * when stdout is a TTY. Secrets never reach a log line: API keys and authorization headers
 * are redacted wherever they appear.
 */
import type { Logger } from 'pino';
import { pino } from 'pino';
import type { Config } from '../config/schema.js';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'config.auth.keys[*].key',
  'config.auth.keys[*].keyHash',
  '*.apiKey',
  'config.cluster.apiKey',
];

export function createLogger(c: Config['log'], dest?: NodeJS.WritableStream): Logger {
  const pretty = c.pretty === 'auto' ? dest === undefined && process.stdout.isTTY : c.pretty;
  const base = { level: c.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (pretty && dest === undefined)
    return pino({
      ...base,
      transport: {
        target: 'pino-pretty',
        options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
      },
    });
  return dest === undefined ? pino(base) : pino(base, dest);
}
