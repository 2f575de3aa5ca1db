#!/usr/bin/env node
/**
 * The `mqgate` command: `serve` runs the gateway; `store check` inspects an embedded store.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isMqgateError } from '../errors.js';
import { MessageStore } from '../store/index.js';
import { serveMain } from './serve.js';
import { UsageError, registerClientCommands } from './commands/client-commands.js';
import { MqgateClientError } from '../client/index.js';

// dist/src/cli/main.js when built, src/cli/main.ts under tsx
const pkgPath = import.meta.url.includes('/dist/') ? '../../../package.json' : '../../package.json';
const pkg = JSON.parse(readFileSync(new URL(pkgPath, import.meta.url), 'utf8')) as {
  version: string;
};

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port 0..65535');
  return n;
}

const program = new Command()
  .name('mqgate')
  .description('A message gateway with Apache RocketMQ semantics')
  .version(pkg.version)
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command('serve')
  .description('run the gateway: REST and WebSocket on one port, over the embedded log')
  .option('--config <file>', 'YAML config file (default: config/mqgate.yaml when present)')
  .option('--data-dir <dir>', 'store directory (store.dataDir)')
  .option('--host <host>', 'address to bind (server.host)')
  .option('--port <port>', 'port to listen on (server.port)', portNumber)
  .option('--insecure', 'allow a non-loopback address without API keys')
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
  .action(async (opts: Parameters<typeof serveMain>[0]) => {
    await serveMain(opts);
  });

registerClientCommands(program);

const store = program.command('store').description('work with an embedded store directory');

store
  .command('check')
  .description('open a store (running crash recovery), report what recovery found and list its queues')
  .requiredOption('--data-dir <dir>', 'the store directory')
  .option('--segment-size <bytes>', 'segment size for a new store', positiveInt)
  .option('--json', 'machine-readable output')
  .action(async (opts: { dataDir: string; segmentSize?: number; json?: boolean }) => {
    const s = await MessageStore.open({
      dataDir: opts.dataDir,
      ...(opts.segmentSize === undefined ? {} : { segmentSize: opts.segmentSize }),
    });
    try {
      const out = { recovery: s.recovery, stats: s.stats(), queues: s.queues() };
      if (opts.json === true) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      const r = s.recovery;
      console.log(
        `recovered in ${r.durationMs} ms: ${r.records} records replayed from offset ${r.scannedFrom}`,
      );
      console.log(`log end ${r.end}, lowest offset ${out.stats.minOffset}`);
      if (r.truncated !== undefined)
        console.log(
          `torn tail cut at ${r.truncated.at} (${r.truncated.cutBytes} bytes): ${r.truncated.reason}`,
        );
      for (const c of r.corrupt) console.log(`corrupt record skipped at ${c.commitLogOffset}: ${c.reason}`);
      for (const q of out.queues)
        console.log(`${q.topic} queue ${q.queueId}: offsets ${q.minOffset}..${q.maxOffset}`);
    } finally {
      await s.close();
    }
  });

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof UsageError) {
    console.error(`mqgate: ${err.message}`);
    process.exit(2);
  }
  if (err instanceof MqgateClientError) {
    // the server refused what was asked (4xx): a usage error; unreachable or 5xx: a failure
    console.error(`mqgate: ${err.message} (${err.code})`);
    process.exit(err.status >= 400 && err.status < 500 ? 2 : 1);
  }
  if (isMqgateError(err)) {
    console.error(`mqgate: ${err.message} (${err.code})`);
    process.exit(err.statusCode < 500 || err.code === 'MQ_ERR_CONFIG_INVALID' ? 2 : 1);
  }
  console.error(`mqgate: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
