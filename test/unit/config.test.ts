import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FLAG_NAMES, flagLayer } from '../../src/cli/serve.js';
import type { LoadConfigOptions } from '../../src/config/load.js';
import {
  PACKAGED_CONFIG,
  envLayer,
  loadConfig,
  redactConfig,
  validateConfig,
} from '../../src/config/load.js';
import { isMqgateError } from '../../src/errors.js';
import { createLogger } from '../../src/observability/log.js';
import { tmpDir } from '../helpers/tmp.js';

function yamlFile(text: string): string {
  const f = path.join(tmpDir('mqgate-config-'), 'mqgate.yaml');
  fs.writeFileSync(f, text);
  return f;
}

/** The one-line message of a configuration error. */
function errorOf(o: LoadConfigOptions): string {
  try {
    loadConfig({ env: {}, ...o });
  } catch (e) {
    expect(isMqgateError(e) && e.code).toBe('MQ_ERR_CONFIG_INVALID');
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a configuration error');
}

describe('loading the configuration', () => {
  it('fills every default from an empty file, no environment and no flag', () => {
    const { config } = loadConfig({ file: yamlFile(''), env: {} });
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080, insecure: false });
    expect(config.store.flushDiskType).toBe('ASYNC_FLUSH');
    expect(config.auth.keys).toEqual([]);
    expect(config.metrics).toEqual({ enabled: true, maxTopicLabels: 1000, maxLagSeries: 5000 });
  });

  it('accepts the packaged config/mqgate.yaml', () => {
    expect(loadConfig({ file: PACKAGED_CONFIG, env: {} }).config.server.port).toBe(8080);
  });

  it('layers file < MQGATE_* environment < flags', () => {
    const file = yamlFile(
      'server:\n  port: 7000\n  host: 127.0.0.2\nstore:\n  dataDir: /from/file\nlog:\n  level: warn\n',
    );
    const env = { MQGATE_SERVER_PORT: '7100', MQGATE_STORE_DATA_DIR: '/from/env' };
    const { config } = loadConfig({
      file,
      env,
      overrides: flagLayer({ port: 7200 }),
      overrideNames: FLAG_NAMES,
    });
    expect(config.server.port).toBe(7200); // flag over env over file
    expect(config.store.dataDir).toBe('/from/env'); // env over file
    expect(config.server.host).toBe('127.0.0.2'); // file over default
    expect(config.log.level).toBe('warn');
    expect(config.server.keepAliveTimeoutMs).toBe(72_000); // default
  });

  it('parses environment values by the type of their key', () => {
    const { layer, warnings } = envLayer({
      MQGATE_SERVER_PORT: ' 9000 ',
      MQGATE_SERVER_INSECURE: 'true',
      MQGATE_BROKER_DELAY_LEVELS: '1s 2s',
      MQGATE_LOG_PRETTY: 'auto',
      MQGATE_AUTH_KEYS: '[{"name":"ci","key":"0123456789abcdef0123"}]',
      MQGATE_SERVER_PROT: '1',
      MQGATE_URL: 'http://elsewhere',
    });
    expect(layer).toEqual({
      server: { port: 9000, insecure: true },
      broker: { delayLevels: '1s 2s' },
      log: { pretty: 'auto' },
      auth: { keys: [{ name: 'ci', key: '0123456789abcdef0123' }] },
    });
    // a variable that looks like a setting but names none is a warning; other MQGATE_* are not
    expect(warnings).toEqual(['MQGATE_SERVER_PROT sets no configuration key (misspelt?); it is ignored']);
  });

  it('refuses environment JSON that does not parse, naming the variable', () => {
    expect(errorOf({ env: { MQGATE_AUTH_KEYS: '[{name:' } })).toMatch(
      /^invalid configuration: MQGATE_AUTH_KEYS must be JSON/,
    );
  });
});

describe('configuration errors', () => {
  it('name the key, the expected type and the file', () => {
    const file = yamlFile('server:\n  port: eighty\n');
    expect(errorOf({ file })).toBe(
      `invalid configuration: server.port: must be integer, got "eighty" (from ${file})`,
    );
  });

  it('read a union of constants as "one of", naming the environment variable', () => {
    expect(errorOf({ env: { MQGATE_STORE_FLUSH_DISK_TYPE: 'FAST' } })).toBe(
      'invalid configuration: store.flushDiskType: must be one of ASYNC_FLUSH, SYNC_FLUSH, got "FAST" (from MQGATE_STORE_FLUSH_DISK_TYPE)',
    );
    expect(errorOf({ env: { MQGATE_LOG_PRETTY: 'maybe' } })).toContain(
      'log.pretty: must be boolean or "auto", got "maybe" (from MQGATE_LOG_PRETTY)',
    );
  });

  it('name the flag that set a bad value', () => {
    expect(errorOf({ overrides: flagLayer({ logLevel: 'loud' }), overrideNames: FLAG_NAMES })).toContain(
      'log.level: must be one of fatal, error, warn, info, debug, trace, silent, got "loud" (from --log-level)',
    );
    expect(errorOf({ overrides: flagLayer({ port: 70_000 }), overrideNames: FLAG_NAMES })).toContain(
      'server.port: must be <= 65535, got 70000 (from --port)',
    );
  });

  it('name an unknown key and list the keys of its section', () => {
    const file = yamlFile('server:\n  prot: 80\nstorage: {}\n');
    const m = errorOf({ file });
    expect(m).toContain(`server.prot: unknown key; server has host, port, insecure`);
    expect(m).toContain(`storage: unknown key; the top level has server, store, broker`);
  });

  it('report every problem at once, each with its source', () => {
    const file = yamlFile('server:\n  port: -1\n');
    const m = errorOf({ file, env: { MQGATE_BROKER_DEFAULT_TOPIC_QUEUES: 'many' } });
    expect(m).toContain(`server.port: must be >= 0, got -1 (from ${file})`);
    expect(m).toContain(
      'broker.defaultTopicQueues: must be integer, got "many" (from MQGATE_BROKER_DEFAULT_TOPIC_QUEUES)',
    );
  });

  it('check API keys: a name, exactly one of key or keyHash, distinct names; never echo a key', () => {
    const keys = (k: unknown[]) => ({ env: { MQGATE_AUTH_KEYS: JSON.stringify(k) } });
    expect(errorOf(keys([{ key: 'short-secret' }]))).toMatch(
      /auth\.keys\.0\.name: is required \(from MQGATE_AUTH_KEYS\).*auth\.keys\.0\.key: must NOT have fewer than 16 characters \(from MQGATE_AUTH_KEYS\)/,
    );
    expect(errorOf(keys([{ key: 'short-secret' }]))).not.toContain('short-secret');
    expect(errorOf(keys([{ name: 'a' }]))).toContain('auth.keys.0: "a": give exactly one of key or keyHash');
    expect(
      errorOf(
        keys([
          { name: 'a', key: '0123456789abcdef' },
          { name: 'a', key: 'fedcba9876543210' },
        ]),
      ),
    ).toContain('auth.keys.1.name: "a" is used twice');
    expect(errorOf(keys([{ name: 'a', key: '0123456789abcdef', topics: { T: 'WRITE' } }]))).toContain(
      'auth.keys.0.topics.T: must be one of PUB, SUB, PUB|SUB, DENY',
    );
  });

  it('check a kafka backend: its bootstrap brokers are required, each host:port', () => {
    const backends = (b: unknown) => ({ env: { MQGATE_GATEWAY_BACKENDS: JSON.stringify(b) } });
    expect(errorOf(backends({ k: { type: 'kafka' } }))).toContain(
      'gateway.backends.k.brokers: a kafka backend needs its bootstrap brokers (host:port, ...)',
    );
    expect(errorOf(backends({ k: { type: 'kafka', brokers: ['no-port'] } }))).toContain(
      'gateway.backends.k.brokers.0: must match pattern',
    );
    const { config: c } = loadConfig({
      env: backends({ k: { type: 'kafka', brokers: ['127.0.0.1:9092'] } }).env,
    });
    expect(c.gateway.backends.k).toMatchObject({
      type: 'kafka',
      brokers: ['127.0.0.1:9092'],
      clientId: 'mqgate',
    });
  });

  it('say in one line when the file cannot be read or is not YAML', () => {
    expect(errorOf({ file: '/nonexistent/mqgate.yaml' })).toContain('cannot read /nonexistent/mqgate.yaml');
    const bad = yamlFile('server:\n  port: [1,\n');
    expect(errorOf({ file: bad })).toContain(`${bad} is not valid YAML`);
    expect(errorOf({ file: yamlFile('- a\n- b\n') })).toContain('must hold a mapping of sections');
  });
});

describe('secrets in logs', () => {
  const config = validateConfig({
    auth: {
      keys: [
        { name: 'ci', key: 'clear-secret-key-0123456789' },
        { name: 'ops', keyHash: `sha256:${'ab'.repeat(32)}`, admin: true },
      ],
    },
  });

  function logged(write: (log: ReturnType<typeof createLogger>) => void): string {
    let out = '';
    const dest = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger({ level: 'debug', pretty: false }, dest);
    write(log);
    log.flush();
    return out;
  }

  it('a logged configuration holds no key nor key hash, even when logged unredacted', () => {
    for (const line of [
      logged((log) => log.debug({ config: redactConfig(config) }, 'configuration')),
      logged((log) => log.debug({ config }, 'configuration')),
    ]) {
      expect(line).toContain('"name":"ci"');
      expect(line).not.toContain('clear-secret-key');
      expect(line).not.toContain('abab');
    }
  });

  it('an Authorization header is redacted from request logs', () => {
    const line = logged((log) =>
      log.info({ req: { headers: { authorization: 'Bearer clear-secret-key-0123456789' } } }, 'request'),
    );
    expect(line).toContain('[redacted]');
    expect(line).not.toContain('clear-secret-key');
  });

  it('redactConfig leaves the original intact', () => {
    expect(redactConfig(config).auth.keys[0]?.key).toBe('[redacted]');
    expect(config.auth.keys[0]?.key).toBe('clear-secret-key-0123456789');
  });
});
