import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Capabilities } from '../../adapters/index.js';
import { matrix, supportOf } from '../../src/gateway/capabilities.js';
import { PopJournal } from '../../src/gateway/core/pop-journal.js';
import { Routes } from '../../src/gateway/routes.js';
import { validateConfig } from '../../src/config/load.js';
import { tmpDir } from '../helpers/tmp.js';

const caps: Capabilities = {
  features: {
    delayLevels: { support: 'native', how: 'broker TTL queues' },
    seek: { support: 'none', how: 'no offsets' },
  },
  maxMessageSize: 1024,
};

describe('capabilities', () => {
  it('matrix - native as declared, none as declared, the rest emulated by the core; seek never emulated', () => {
    const { features, how } = matrix(caps);
    expect(features.delayLevels).toBe('native');
    expect(how.delayLevels).toBe('broker TTL queues');
    expect(features.seek).toBe('none');
    expect(features.transactions).toBe('emulated');
    expect(how.transactions).toContain('core');
    expect(matrix({ features: {}, maxMessageSize: 1 }).features.startPosition).toBe('none');
  });

  it('matrix - a route that emulates a native feature hands it to the core', () => {
    expect(supportOf(caps, 'delayLevels', new Set(['delayLevels']))).toMatchObject({ support: 'emulated' });
    expect(supportOf(caps, 'seek', new Set(['seek'])).support).toBe('none');
  });
});

describe('routes', () => {
  it('routes - exact names and * patterns, first match wins, else the default backend', () => {
    const r = new Routes(
      [
        {
          topics: 'orders-eu',
          backend: 'a',
          emulate: [],
          storeAndForward: false,
          transactionalCommit: false,
        },
        {
          topics: 'orders-*',
          backend: 'b',
          emulate: ['timers'],
          storeAndForward: true,
          transactionalCommit: true,
        },
        { topics: '*-audit', backend: 'c', emulate: [], storeAndForward: false, transactionalCommit: false },
      ],
      'local',
    );
    expect(r.match('orders-eu').backend).toBe('a');
    expect(r.match('orders-us').backend).toBe('b');
    expect(r.match('x-audit').backend).toBe('c');
    expect(r.match('ordersX').backend).toBe('local');
    expect([...r.emulateFor('orders-us', 'b')]).toEqual(['timers']);
    expect([...r.emulateFor('orders-us', 'local')]).toEqual([]);
    expect(r.flagFor('orders-us', 'b', 'storeAndForward')).toBe(true);
    expect(r.flagFor('orders-us', 'local', 'storeAndForward')).toBe(false);
    expect(r.flagFor('orders-eu', 'a', 'storeAndForward')).toBe(false);
    expect(r.flagFor('orders-us', 'b', 'transactionalCommit')).toBe(true);
    expect(r.flagFor('orders-eu', 'a', 'transactionalCommit')).toBe(false);
  });

  it('config - a route or default naming no backend, a backend called local, emulate or storeAndForward on local, transactionalCommit off kafka: errors naming the key', () => {
    const bad = (gateway: unknown): string => {
      try {
        validateConfig({ gateway });
        return '';
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(bad({ routes: [{ topics: '*', backend: 'nope' }] })).toContain('gateway.routes.0.backend');
    expect(bad({ defaultBackend: 'nope' })).toContain('gateway.defaultBackend');
    expect(bad({ backends: { local: { type: 'local-bare' } } })).toContain('gateway.backends.local');
    expect(bad({ routes: [{ topics: '*', backend: 'local', emulate: ['timers'] }] })).toContain('emulate');
    expect(bad({ routes: [{ topics: '*', backend: 'local', storeAndForward: true }] })).toContain(
      'gateway.routes.0.storeAndForward',
    );
    expect(
      bad({
        backends: { r: { type: 'rabbitmq', url: 'amqp://h' } },
        routes: [{ topics: '*', backend: 'r', transactionalCommit: true }],
      }),
    ).toContain('gateway.routes.0.transactionalCommit');
    expect(bad({ backends: { b: { type: 'nats' } } })).toContain('gateway.backends.b.type');
    expect(bad({ backends: { b: { type: 'kafka' } } })).toContain('gateway.backends.b.brokers');
    expect(bad({ backends: { b: { type: 'rabbitmq' } } })).toContain('gateway.backends.b.url');
    expect(bad({ backends: { b: { type: 'local-bare' } }, routes: [{ topics: 't', backend: 'b' }] })).toBe(
      '',
    );
  });
});

describe('pop journal', () => {
  it('pop journal - hand-outs, owed acks and done survive a reopen; compaction keeps only what is live', async () => {
    const dir = tmpDir();
    const j = new PopJournal(dir);
    j.out('lane', 'A', 1, Date.now() + 60_000, 1);
    j.out('lane', 'B', 2, Date.now() + 60_000, 2);
    j.out('lane', 'C', 3, Date.now() + 60_000, 1);
    j.owed('lane', 'B');
    j.done('lane', 'C');
    await Promise.resolve();
    j.close();
    const again = new PopJournal(dir);
    const lane = again.lane('lane');
    expect(lane.get('A')).toMatchObject({ version: 1, attempt: 1, owed: false });
    expect(lane.get('B')).toMatchObject({ version: 2, attempt: 2, owed: true });
    expect(lane.has('C')).toBe(false);
    again.close();
    const lines = fs.readFileSync(path.join(dir, 'pop-journal.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3); // A, B and B's owed ack
  });
});
