import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { startServer } from '../../../src/cli/serve.js';
import { validateConfig } from '../../../src/config/load.js';
import { isMqgateError } from '../../../src/errors.js';
import { Gateway } from '../../../src/gateway/index.js';
import { createLogger } from '../../../src/observability/log.js';
import { tmpDir } from '../../helpers/tmp.js';

const config = (server: Record<string, unknown>) =>
  validateConfig({
    server: { port: 0, ...server },
    store: { dataDir: tmpDir('mqgate-serve-'), segmentSize: 4 * 1024 * 1024, maxMessageSize: 64 * 1024 },
    log: { level: 'silent' },
  });

describe('startServer on a non-loopback address', () => {
  it('refuses 0.0.0.0 without API keys, naming --insecure', async () => {
    const err = await startServer(config({ host: '0.0.0.0' })).catch((e: unknown) => e);
    expect(isMqgateError(err) && err.code).toBe('MQ_ERR_CONFIG_INVALID');
    expect((err as Error).message).toContain('--insecure');
    expect((err as Error).message).toContain('auth.keys');
  });

  it('starts on 0.0.0.0 with insecure: true', async () => {
    const running = await startServer(config({ host: '0.0.0.0', insecure: true }));
    try {
      const port = new URL(running.url).port;
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    } finally {
      await running.stop();
    }
  });
});

describe('mqgate serve --config with a bad file', () => {
  it('exits 2 with one line naming the key', () => {
    const dir = tmpDir('mqgate-serve-');
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, `store:\n  dataDir: ${dir}\n  flushDiskType: FASTEST\n`);
    const r = spawnSync(
      path.resolve('node_modules/.bin/tsx'),
      ['src/cli/main.ts', 'serve', '--config', file],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, MQGATE_LOG_LEVEL: 'silent' } },
    );
    expect(r.status).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `mqgate: invalid configuration: store.flushDiskType: must be one of ASYNC_FLUSH, SYNC_FLUSH, got "FASTEST" (from ${file}) (MQ_ERR_CONFIG_INVALID)`,
    );
  });
});

describe('request ids', () => {
  it('puts the client x-request-id on the error log line of a failed request', async () => {
    let out = '';
    const dest = new Writable({
      write(chunk: Buffer, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const c = config({});
    const logger = createLogger({ level: 'info', pretty: false }, dest);
    const gateway = await Gateway.open(c, logger);
    const app = await buildApp({ gateway, config: c, logger });
    app.get('/boom', async () => {
      throw new Error('kaput');
    });
    try {
      const res = await app.inject({ method: 'GET', url: '/boom', headers: { 'x-request-id': 'req-7f3a' } });
      expect(res.statusCode).toBe(500);
      expect(res.headers['x-request-id']).toBe('req-7f3a');
      expect(res.json()).toMatchObject({
        error: { code: 'MQ_ERR_INTERNAL', message: expect.stringContaining('req-7f3a') },
      });
      const line = out.split('\n').find((l) => l.includes('kaput'));
      expect(JSON.parse(line ?? '{}')).toMatchObject({ reqId: 'req-7f3a', level: 50 });
    } finally {
      await app.close();
      await gateway.close();
    }
  });
});
