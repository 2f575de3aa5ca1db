import { describe, expect, it } from 'vitest';
import type { Need } from '../../src/api/access.js';
import { createAccessControl, hashKey } from '../../src/api/access.js';
import { validateConfig } from '../../src/config/load.js';
import { isMqgateError } from '../../src/errors.js';

const auth = (keys: unknown[]) => validateConfig({ auth: { keys, rateLimit: 50 } }).auth;

const topic = (name: string, perm: 'PUB' | 'SUB'): Need => ({ kind: 'topic', name, perm });
const group = (name: string): Need => ({ kind: 'group', name });

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isMqgateError(e) ? e.code : 'not an MqgateError';
  }
  return undefined;
}

describe('access control', () => {
  const ac = createAccessControl(
    auth([
      {
        name: 'app',
        key: 'app-key-0123456789ab',
        topics: { '*': 'SUB', Orders: 'PUB|SUB', Secret: 'DENY', Audit: 'PUB' },
        groups: { '*': 'SUB', internal: 'DENY' },
        rateLimit: 7,
      },
      { name: 'narrow', key: 'narrow-key-0123456789', topics: { Orders: 'SUB' } },
      { name: 'root', keyHash: hashKey('root-key-0123456789ab'), admin: true },
    ]),
  );
  const app = ac.authenticate('Bearer app-key-0123456789ab');
  const narrow = ac.authenticate('bearer   narrow-key-0123456789 ');

  it('is on when keys are configured, and finds the principal of a key (scheme case-insensitive)', () => {
    expect(ac.enabled).toBe(true);
    expect(app).toMatchObject({ name: 'app', admin: false, rateLimit: 7 });
    expect(narrow).toMatchObject({ name: 'narrow', rateLimit: 50 });
  });

  it('accepts a key configured by its sha256 only', () => {
    expect(ac.authenticate('Bearer root-key-0123456789ab')).toMatchObject({ name: 'root', admin: true });
    expect(hashKey('x')).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('refuses a missing, malformed or unknown key with MQ_ERR_UNAUTHORIZED', () => {
    for (const h of [undefined, '', 'Bearer', 'Basic app-key-0123456789ab', 'Bearer wrong-key-0123456789ab'])
      expect(
        codeOf(() => ac.authenticate(h)),
        String(h),
      ).toBe('MQ_ERR_UNAUTHORIZED');
  });

  it('lets a named topic or group win over *', () => {
    expect(ac.allowed(app, topic('Orders', 'PUB'))).toBe(true);
    expect(ac.allowed(app, topic('Anything', 'SUB'))).toBe(true);
    expect(ac.allowed(app, topic('Anything', 'PUB'))).toBe(false);
    expect(ac.allowed(app, topic('Audit', 'PUB'))).toBe(true);
    // Audit is PUB only: the named entry replaces the * (SUB) entry
    expect(ac.allowed(app, topic('Audit', 'SUB'))).toBe(false);
    expect(ac.allowed(app, group('billing'))).toBe(true);
  });

  it('DENY refuses even where * allows', () => {
    expect(ac.allowed(app, topic('Secret', 'SUB'))).toBe(false);
    expect(ac.allowed(app, group('internal'))).toBe(false);
  });

  it('refuses what a key does not mention, and admin to non-admin keys', () => {
    expect(ac.allowed(narrow, topic('Payments', 'SUB'))).toBe(false);
    expect(ac.allowed(narrow, group('billing'))).toBe(false);
    expect(ac.allowed(narrow, { kind: 'admin' })).toBe(false);
    expect(codeOf(() => ac.authorize(narrow, topic('Orders', 'PUB')))).toBe('MQ_ERR_FORBIDDEN');
    expect(codeOf(() => ac.authorize(narrow, topic('Orders', 'SUB')))).toBeUndefined();
  });

  it('lets an admin key do everything', () => {
    const root = ac.authenticate('Bearer root-key-0123456789ab');
    for (const need of [topic('Secret', 'PUB'), group('internal'), { kind: 'admin' } as Need])
      expect(ac.allowed(root, need)).toBe(true);
  });

  it('names the key and the permission in a refusal', () => {
    try {
      ac.authorize(app, topic('Secret', 'SUB'));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('key "app" lacks SUB on topic "Secret"');
    }
  });
});

describe('access control without keys', () => {
  it('is off: every request is the anonymous admin', () => {
    const ac = createAccessControl(auth([]));
    expect(ac.enabled).toBe(false);
    const p = ac.authenticate(undefined);
    expect(p).toMatchObject({ name: 'anonymous', admin: true });
    expect(ac.allowed(p, { kind: 'admin' })).toBe(true);
  });
});
