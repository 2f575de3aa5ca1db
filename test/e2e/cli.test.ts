/**
 * The `mqgate` CLI against the built `mqgate serve`: send, consume, the admin listings with
 * --json, and its exit codes (0 ok, 1 failure, 2 usage) with one-line errors.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeProcess } from '../helpers/serve-process.js';
import { runCli, spawnServe } from '../helpers/serve-process.js';

let proc: ServeProcess;
let dataDir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqgate-cli-'));
  proc = await spawnServe(['--data-dir', dataDir]);
  env = { MQGATE_URL: proc.url };
});

afterAll(async () => {
  proc.child.kill('SIGTERM');
  await proc.exited();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('mqgate CLI', () => {
  it('send, then consume prints and acks; topics, groups, backends, dlq with --json', async () => {
    const groupUp = await runCli(['groups', '--json'], { env });
    expect(groupUp.code).toBe(0);
    // create the group first so that it starts at the first message (a new group starts at the end)
    await fetch(`${proc.url}/v1/groups/cli-readers`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ consumeFrom: 'FIRST' }),
    });
    const sent = await runCli(['send', 'CliOrders', 'hello', '--tag', 'A', '--key', 'k1', '--json'], { env });
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ topic: 'CliOrders', status: 'SEND_OK' });
    const piped = await runCli(['send', 'CliOrders', '-', '--json-body'], { env, input: '{"n":2}' });
    expect(piped.code).toBe(0);
    expect(piped.stdout).toMatch(/^SEND_OK /);
    const consumed = await runCli(
      ['consume', 'cli-readers', 'CliOrders', '--count', '2', '--wait', '5', '--json'],
      {
        env,
      },
    );
    expect(consumed.code).toBe(0);
    const lines = consumed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { body: unknown });
    expect(lines.map((m) => m.body)).toEqual(['hello', { n: 2 }]);
    for (const cmd of [['topics'], ['groups'], ['backends'], ['dlq', 'cli-readers']]) {
      const r = await runCli([...cmd, '--json'], { env });
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(() => JSON.parse(r.stdout) as unknown, cmd.join(' ')).not.toThrow();
    }
    expect((await runCli(['topics'], { env })).stdout).toContain('CliOrders');
  });

  it('exits 2 with one line for what the user got wrong, 1 when the gateway is not there', async () => {
    const bad = [
      ['send', 'bad topic!', 'x'],
      ['send', 'T', 'x', '--delay-level', '0'],
      ['send', 'T', 'x', '--property', 'novalue'],
      ['consume', 'g', 'T', '--count', 'many'],
      ['no-such-command'],
    ];
    for (const args of bad) {
      const r = await runCli(args, { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n').length, `${args.join(' ')}: ${r.stderr}`).toBe(1);
    }
    const off = await runCli(['topics'], { env: { MQGATE_URL: 'http://127.0.0.1:1' } });
    expect(off.code).toBe(1);
    expect(off.stderr).toContain('mqgate serve');
  });
});
