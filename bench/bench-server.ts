/**
 * Starts bench/http-server.ts in a child process and waits for its `READY <url>` line; `env` adds
 * to the server's environment (its BENCH_FLUSH, BENCH_DELAY_LEVELS, BENCH_DATA_DIR).
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { SERVE_NODE_FLAGS } from '../src/cli/node-flags.js';

export interface BenchServer {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export function startBenchServer(
  mode: 'bare' | 'ws-bare' | 'mqgate' | 'mqgate-rabbitmq' | 'mqgate-kafka',
  env: Record<string, string> = {},
): Promise<BenchServer> {
  // BENCH_SERVER_ARGS: node flags for the server process, to look into it (e.g.
  // "--cpu-prof --cpu-prof-dir=prof" or "--trace-gc"); what it prints goes to stderr
  const args = (process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter((a) => a !== '');
  // every server (the baselines too) runs with the V8 flags `mqgate serve` runs with
  const node = [...SERVE_NODE_FLAGS, ...args, '--import', 'tsx', 'bench/http-server.ts', mode];
  const child = spawn(process.execPath, node, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.once('exit', (code) => reject(new Error(`bench server (${mode}) exited with ${code}`)));
    if (args.length > 0) child.stdout?.on('data', (d: Buffer) => process.stderr.write(d));
    const ready = (d: Buffer): void => {
      buf += d.toString();
      const m = /READY (\S+)/.exec(buf);
      if (m === null) return;
      // once: what the server prints later (its warnings) must not add an exit hook each time;
      // the pipe is still drained (a full pipe would block the server)
      child.stdout?.off('data', ready);
      child.stdout?.resume();
      child.removeAllListeners('exit');
      // a bench that dies of an error takes its server with it
      const orphaned = (): boolean => child.kill('SIGTERM');
      process.once('exit', orphaned);
      resolve({
        url: m[1] as string,
        child,
        stop: () =>
          new Promise<void>((done) => {
            process.off('exit', orphaned);
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout?.on('data', ready);
  });
}
