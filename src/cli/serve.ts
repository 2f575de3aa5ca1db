/**
 * `mqgate serve`: loads the configuration, opens the gateway (the embedded log recovers on
 * open), serves REST and WebSocket on one port, logs the URL of `/docs`. SIGINT or SIGTERM
 * stops accepting, drains connections (up to server.shutdownTimeoutMs), flushes the store and
 * exits 0.
 */
import type { FastifyInstance } from 'fastify';
import { missingServeFlags } from './node-flags.js';
import { buildApp } from '../api/app.js';
import type { ConfigLayer } from '../config/load.js';
import { loadConfig, redactConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { MqgateError } from '../errors.js';
import { Gateway } from '../gateway/index.js';
import { createLogger } from '../observability/log.js';

export interface ServeFlags {
  config?: string;
  dataDir?: string;
  host?: string;
  port?: number;
  insecure?: boolean;
  logLevel?: string;
}

export interface Running {
  readonly app: FastifyInstance;
  readonly gateway: Gateway;
  readonly config: Config;
  readonly url: string;
  stop(): Promise<void>;
}

/** The flag behind each configuration path it sets (errors name it). */
export const FLAG_NAMES: Readonly<Record<string, string>> = {
  'server.host': '--host',
  'server.port': '--port',
  'server.insecure': '--insecure',
  'store.dataDir': '--data-dir',
  'log.level': '--log-level',
};

/** The configuration layer of the `serve` flags. */
export function flagLayer(f: ServeFlags): ConfigLayer {
  const server: ConfigLayer = {};
  if (f.host !== undefined) server.host = f.host;
  if (f.port !== undefined) server.port = f.port;
  if (f.insecure === true) server.insecure = true;
  const out: ConfigLayer = { server };
  if (f.dataDir !== undefined) out.store = { dataDir: f.dataDir };
  if (f.logLevel !== undefined) out.log = { level: f.logLevel };
  return out;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Whether binding `host` keeps the server to this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || host.startsWith('127.');
}

/**
 * A listen failure a person can act on: which address and port, and the setting that moves
 * it (exit 2, one line). Undefined for any other error.
 */
export function bindError(e: unknown, server: Config['server']): MqgateError | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const where = `${server.host}:${server.port}`;
  const move = 'choose another with --port, server.port or MQGATE_SERVER_PORT';
  if (code === 'EADDRINUSE')
    return new MqgateError(
      'MQ_ERR_CONFIG_INVALID',
      `${where} is already in use: stop what listens there or ${move}`,
    );
  if (code === 'EACCES')
    return new MqgateError('MQ_ERR_CONFIG_INVALID', `${where} needs privileges to bind: ${move}`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
    return new MqgateError(
      'MQ_ERR_CONFIG_INVALID',
      `${server.host} is not an address of this machine: choose another with --host, server.host or MQGATE_SERVER_HOST`,
    );
  return undefined;
}

/** Starts a gateway; the caller owns the process (signals are wired by {@link serveMain}). */
export async function startServer(config: Config): Promise<Running> {
  const log = createLogger(config.log);
  if (!isLoopback(config.server.host) && config.auth.keys.length === 0 && !config.server.insecure)
    throw new MqgateError(
      'MQ_ERR_CONFIG_INVALID',
      `server.host ${config.server.host} is not loopback and auth.keys is empty: add API keys or pass --insecure`,
    );
  log.debug({ config: redactConfig(config) }, 'configuration');
  const gateway = await Gateway.open(config, log);
  let app: FastifyInstance;
  try {
    app = await buildApp({ gateway, config, logger: log });
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (e) {
    await gateway.close();
    throw bindError(e, config.server) ?? e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : config.server.port;
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = `http://${host}:${port}`;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const timer = setTimeout(() => app.server.closeAllConnections(), config.server.shutdownTimeoutMs);
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
        await gateway.close();
      }
    })());
  return { app, gateway, config, url, stop };
}

/** The `serve` command: start, log where, stop cleanly on SIGINT/SIGTERM. */
export async function serveMain(flags: ServeFlags): Promise<void> {
  const { config, file, warnings } = loadConfig({
    file: flags.config,
    overrides: flagLayer(flags),
    overrideNames: FLAG_NAMES,
  });
  const running = await startServer(config);
  const log = running.gateway.log;
  for (const w of warnings) log.warn(w);
  log.info(
    {
      url: running.url,
      docs: `${running.url}/docs`,
      dataDir: config.store.dataDir,
      config: file ?? 'defaults',
    },
    `mqgate listening on ${running.url} (API docs: ${running.url}/docs)`,
  );
  const missing = missingServeFlags();
  if (missing.length > 0)
    log.info(
      { missing },
      `for throughput, start node with ${missing.join(' ')} (e.g. NODE_OPTIONS="${missing.join(' ')}"); npm start does`,
    );
  await new Promise<void>((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      log.info({ signal: sig }, 'shutting down: draining connections, flushing the store');
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      running.stop().then(
        () => {
          log.info('stopped');
          resolve();
        },
        (e: unknown) => {
          log.error({ err: e }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
