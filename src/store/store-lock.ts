import fs from 'node:fs';
import path from 'node:path';
import { MqgateError } from '../errors.js';

const heldHere = new Set<string>();

/** One process, one store directory: a `lock` file with the owner's pid (stale ones are taken over). */
export class StoreLock {
  readonly #file: string;

  private constructor(file: string) {
    this.#file = file;
  }

  static acquire(dir: string): StoreLock {
    const file = path.resolve(dir, 'lock');
    if (heldHere.has(file))
      throw new MqgateError('MQ_ERR_STORE_LOCKED', `${dir} is already open in this process`);
    try {
      const owner = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner))
        throw new MqgateError('MQ_ERR_STORE_LOCKED', `${dir} is used by process ${owner}`);
    } catch (e) {
      if (e instanceof MqgateError) throw e;
    }
    fs.writeFileSync(file, String(process.pid));
    heldHere.add(file);
    return new StoreLock(file);
  }

  release(): void {
    heldHere.delete(this.#file);
    fs.rmSync(this.#file, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
