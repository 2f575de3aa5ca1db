/**
 * A failing disk is the environment, not a bug: a system call error under a request answers
 * 503 MQ_ERR_STORE_IO (retriable) in the JSON error shape, never a 500.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(async () => {
  await gw.stop();
});

describe('I/O failures under a request', () => {
  it('answer 503 MQ_ERR_STORE_IO when the config directory is gone', async () => {
    fs.rmSync(path.join(gw.dataDir, 'config'), { recursive: true, force: true });
    const res = await fetch(`${gw.url}/v1/groups/after-the-disk-went`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ consumeFrom: 'FIRST' }),
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('MQ_ERR_STORE_IO');
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});
