/**
 * The V8 flags the gateway is meant to run with, as brokers ship their JVM flags (Kafka's
 * kafka-server-start.sh, RocketMQ's runbroker.sh). They must be given where node starts (V8
 * sizes its heap before any code runs): `npm start` and the benchmark servers use them (a test
 * keeps them the same); the installed `mqgate` command keeps a plain `#!/usr/bin/env node`
 * line, which every `env` reads, so `mqgate serve` says at start when they are missing and how
 * to give them (NODE_OPTIONS).
 *
 * - `--max-semi-space-size=32`: a young generation of 2 x 32 MiB instead of 2 x 16 MiB. A
 *   gateway allocates per message (parsed frames, bodies, answers) and nearly all of it dies
 *   within a write round; with the default size the collector ran every 20 ms under load and
 *   copied every message in flight at each run. WebSocket publishBatch: 84-88k -> 119k msgs/s.
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

/** The flags of SERVE_NODE_FLAGS that this process was not started with (argv or NODE_OPTIONS). */
export function missingServeFlags(
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string = process.env.NODE_OPTIONS ?? '',
): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].map((f) => f.replace(/_/g, '-')));
  return SERVE_NODE_FLAGS.filter((f) => !given.has(f));
}
