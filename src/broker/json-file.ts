import fs from 'node:fs';
import { MqgateError } from '../errors.js';
import { writeFileAtomicSync } from '../store/fs-util.js';

/**
 * Reads a JSON file written by {@link writeJsonFile}; undefined when it does not exist.
 *
 * @throws MqgateError `MQ_ERR_STORE_CORRUPT` naming the file when it is not valid JSON
 */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new MqgateError('MQ_ERR_STORE_CORRUPT', `${file} is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Replaces a JSON file atomically (write, fsync, rename): a crash leaves the old or the new one. */
export function writeJsonFile(file: string, value: unknown): void {
  writeFileAtomicSync(file, JSON.stringify(value, null, 1));
}
