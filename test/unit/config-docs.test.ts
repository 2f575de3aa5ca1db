import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { END, README, START, configReference, withReference } from '../../scripts/config-docs.js';

describe('generated configuration files', () => {
  it('config/mqgate.schema.json is the schema (else: npm run config:schema)', () => {
    const file = JSON.parse(fs.readFileSync('config/mqgate.schema.json', 'utf8')) as unknown;
    expect(file).toEqual(JSON.parse(JSON.stringify(ConfigSchema)));
  });

  it('the README configuration reference is up to date (else: npm run config:docs)', async () => {
    const readme = fs.readFileSync(README, 'utf8');
    expect(readme).toContain(START);
    expect(readme).toContain(END);
    expect(withReference(readme, await configReference())).toBe(readme);
  });

  it('documents every key with its environment variable', async () => {
    const ref = await configReference();
    for (const [section, s] of Object.entries(ConfigSchema.properties))
      for (const key of Object.keys(s.properties)) expect(ref).toContain(`\`${section}.${key}\``);
    expect(ref).toContain('`MQGATE_STORE_FLUSH_DISK_TYPE`');
    expect(ref).toContain('one of `ASYNC_FLUSH`, `SYNC_FLUSH`');
  });
});
