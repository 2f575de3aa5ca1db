import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, MqgateError } from '../../src/errors.js';

describe('error catalogue', () => {
  it('errors - every code is documented in the README with its status', () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');
    for (const [code, spec] of Object.entries(ErrorCodes)) {
      expect(readme, `${code} is not in the README`).toMatch(
        new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${spec.statusCode}\\s*\\|`),
      );
    }
  });

  it('errors - an error carries its code, status, retriable flag and JSON form', () => {
    const e = new MqgateError('MQ_ERR_STORE_IO', 'disk full', { details: { path: 'x' } });
    expect(e).toMatchObject({ code: 'MQ_ERR_STORE_IO', statusCode: 503, retriable: true });
    expect(e.message).toBe('store I/O failure: disk full');
    expect(e.toJSON()).toEqual({ code: 'MQ_ERR_STORE_IO', message: e.message, details: { path: 'x' } });
  });
});
