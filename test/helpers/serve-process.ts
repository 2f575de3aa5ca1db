/**
 * The built `mqgate serve` (dist/), started as a user starts it: a child process on a free
 * port over a data dir, its URL read from its log line. `npm test` builds dist first.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const CLI = path.resolve('dist/src/cli/main.js');

export interface ServeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Waits for the exit; answers the exit code (or the signal's name). */
  exited(): Promise<number | string>;
}

export function requireBuild(): void {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first (npm test does)`);
}

/** Starts `mqgate serve` with `args`; on a free port unless `args` name one. */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  requireBuild();
  const port = args.includes('--port') ? [] : ['--port', '0'];
  const child = spawn(process.execPath, [CLI, 'serve', ...port, ...args], {
    env: { ...process.env, MQGATE_LOG_PRETTY: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mqgate serve did not start in 20 s:\n${out}`)), 20_000);
    const poll = setInterval(() => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m !== null) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    }, 20);
    void exit.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`mqgate serve exited (${code}) before listening:\n${out}`));
    });
  });
  return { url, child, output: () => out, exited: () => exit };
}

/** Runs the built CLI to completion. */
export function runCli(
  args: string[],
  o: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  requireBuild();
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...o.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(o.input ?? '');
  return new Promise((resolve) =>
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr })),
  );
}
