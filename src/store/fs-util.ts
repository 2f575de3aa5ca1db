import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';

const readP = promisify(fs.read);
const writeP = promisify(fs.write);
export const fdatasync = promisify(fs.fdatasync);
export const fsync = promisify(fs.fsync);
export const ftruncate = promisify(fs.ftruncate);
export const closeFd = promisify(fs.close);
export const openFd = promisify(fs.open);
export const fstat = promisify(fs.fstat);

/** Reads until `len` bytes or end of file; returns how many were read. */
export async function readFull(
  fd: number,
  buf: Buffer,
  off: number,
  len: number,
  pos: number,
): Promise<number> {
  let done = 0;
  while (done < len) {
    const { bytesRead } = await readP(fd, buf, off + done, len - done, pos + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

export function readFullSync(fd: number, buf: Buffer, off: number, len: number, pos: number): number {
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, buf, off + done, len - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

export async function writeFull(
  fd: number,
  buf: Buffer,
  off: number,
  len: number,
  pos: number,
): Promise<void> {
  let done = 0;
  while (done < len) {
    const { bytesWritten } = await writeP(fd, buf, off + done, len - done, pos + done);
    done += bytesWritten;
  }
}

export function writeFullSync(fd: number, buf: Buffer, off: number, len: number, pos: number): void {
  let done = 0;
  while (done < len) done += fs.writeSync(fd, buf, off + done, len - done, pos + done);
}

/** File names of 20 decimal digits (the number is the file's first offset), sorted. */
export function padName(n: number): string {
  return String(n).padStart(20, '0');
}

export function listNumbered(dir: string): { name: string; start: number }[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((n) => /^\d{20}$/.test(n))
    .map((name) => ({ name, start: Number(name) }))
    .sort((a, b) => a.start - b.start);
}

/** Replaces `file` with `data` so that a crash leaves either the old or the new content. */
export function writeFileAtomicSync(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDirSync(path.dirname(file));
}

/**
 * {@link writeFileAtomicSync} without blocking the event loop on the fsyncs (background
 * services use it, so that a checkpoint never stalls deliveries).
 */
export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  const dh = await fs.promises.open(path.dirname(file), 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function isErrno(e: unknown, ...codes: string[]): boolean {
  return typeof e === 'object' && e !== null && codes.includes((e as NodeJS.ErrnoException).code ?? '');
}
