import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { OwnerIds } from '../../src/api/owner-ids.js';
import { FORWARDED_BY, Peers } from '../../src/api/peers.js';
import { loadConfig, redactConfig, validateConfig } from '../../src/config/load.js';
import { isMqgateError } from '../../src/errors.js';

const TX_ID = '0A0B0C0D00002A9F000000000000001F';
const LOG_HANDLE = '12.3456.77.8812345.1029384756';
const CORE_HANDLE = `p.${TX_ID}.42`;

function peers(p: Record<string, string>, more: Record<string, unknown> = {}): Peers {
  const c = validateConfig({ cluster: { instanceId: 'gw-a', peers: p, ...more } });
  const out = Peers.of(c);
  if (out === undefined) throw new Error('expected a cluster');
  return out;
}

/** The MqgateError a promise rejects with. */
async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string; details: unknown }> {
  try {
    await p;
  } catch (e) {
    if (isMqgateError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('owner ids', () => {
  it('owner ids - an id leaves as {instanceId}~{id} and comes back as it was, for each kind of id', () => {
    const ids = new OwnerIds('gw-a');
    for (const id of [TX_ID, LOG_HANDLE, CORE_HANDLE]) {
      expect(id).not.toContain('~');
      const out = ids.out(id);
      expect(out).toBe(`gw-a~${id}`);
      expect(ids.parse(out)).toEqual({ owner: 'gw-a', id, mine: true });
    }
  });

  it('owner ids - an id of another instance names it and keeps the rest as that instance knows it', () => {
    const ids = new OwnerIds('gw-a');
    expect(ids.parse(`gw-b~${LOG_HANDLE}`)).toEqual({ owner: 'gw-b', id: LOG_HANDLE, mine: false });
    expect(ids.parse(`0~${CORE_HANDLE}`)).toEqual({ owner: '0', id: CORE_HANDLE, mine: false });
    // an instance's own handle may hold a '~' after the prefix (a broker's native handle)
    expect(ids.parse('gw-b~x~y')).toEqual({ owner: 'gw-b', id: 'x~y', mine: false });
  });

  it("owner ids - an id without a prefix (handed out before instanceId was set) is this instance's own", () => {
    const ids = new OwnerIds('gw-a');
    expect(ids.parse(LOG_HANDLE)).toEqual({ owner: 'gw-a', id: LOG_HANDLE, mine: true });
    // what is not an instance id before the '~' is no prefix: the broker judges the whole text
    for (const odd of ['~abc', 'GW-B~abc', '-b~abc', `${'a'.repeat(33)}~abc`, 'a b~c'])
      expect(ids.parse(odd)).toEqual({ owner: 'gw-a', id: odd, mine: true });
  });

  it('owner ids - there are none without cluster.instanceId: ids stay exactly as today', () => {
    expect(Peers.of(validateConfig({}))).toBeUndefined();
    expect(validateConfig({}).cluster).toEqual({ peers: {}, forwardTimeoutMs: 5000 });
  });

  it('owner ids - an instance id that breaks the pattern is refused', () => {
    expect(() => new OwnerIds('Gw_A')).toThrow(TypeError);
  });
});

describe('cluster configuration', () => {
  it('cluster config - instanceId, peers and the timeout come from the file or MQGATE_CLUSTER_*', () => {
    const { config } = loadConfig({
      file: undefined,
      env: {
        MQGATE_CLUSTER_INSTANCE_ID: 'mqgate-0',
        MQGATE_CLUSTER_PEERS: '{"mqgate-1":"http://10.0.0.2:8080"}',
        MQGATE_CLUSTER_FORWARD_TIMEOUT_MS: '750',
      },
    });
    expect(config.cluster).toEqual({
      instanceId: 'mqgate-0',
      peers: { 'mqgate-1': 'http://10.0.0.2:8080' },
      forwardTimeoutMs: 750,
    });
  });

  it('cluster config - a bad instance id, peer name or URL is refused naming the key', () => {
    const bad = (cluster: unknown): string => {
      try {
        validateConfig({ cluster });
      } catch (e) {
        if (isMqgateError(e) && e.code === 'MQ_ERR_CONFIG_INVALID') return e.message;
        throw e;
      }
      throw new Error('expected a configuration error');
    };
    expect(bad({ instanceId: 'Gateway A' })).toContain('cluster.instanceId');
    expect(bad({ instanceId: 'a', peers: { B: 'http://b:8080' } })).toContain('cluster.peers');
    expect(bad({ instanceId: 'a', peers: { b: 'ftp://b' } })).toContain('cluster.peers.b');
    expect(bad({ instanceId: 'a', peers: { b: 'http://b:8080/?x=1' } })).toContain('cluster.peers.b');
    expect(bad({ peers: { b: 'http://b:8080' } })).toContain('cluster.instanceId');
  });

  it('cluster config - cluster.apiKey is a secret: redacted and never echoed', () => {
    const c = validateConfig({ cluster: { instanceId: 'a', apiKey: 'k'.repeat(24) } });
    expect(redactConfig(c).cluster.apiKey).toBe('[redacted]');
    expect(() => validateConfig({ cluster: { instanceId: 'a', apiKey: 'short-secret' } })).toThrow(
      /cluster\.apiKey: must NOT have fewer than 16 characters \(from config\)$/,
    );
  });
});

describe('forwarding to peers', () => {
  it('peers - the instance itself is no peer; an unknown owner is 421 MQ_ERR_NOT_OWNER naming it', async () => {
    const p = peers({ 'gw-a': 'http://127.0.0.1:1', 'gw-b': 'http://127.0.0.1:2/' });
    expect(p.urlOf('gw-a')).toBeUndefined();
    expect(p.urlOf('gw-b')).toBe('http://127.0.0.1:2');
    const e = await rejection(p.post('gw-z', '/v1/x', {}, {}));
    expect(e).toMatchObject({ code: 'MQ_ERR_NOT_OWNER', statusCode: 421, retriable: false });
    expect(e.message).toContain('"gw-z"');
    expect(e.details).toEqual({ owner: 'gw-z' });
  });

  it('peers - a peer that is down answers 421 at once, with its URL', async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const p = peers({ 'gw-b': `http://127.0.0.1:${port}` });
    const started = Date.now();
    const e = await rejection(p.post('gw-b', '/v1/x', {}, {}));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(e.code).toBe('MQ_ERR_NOT_OWNER');
    expect(e.message).toContain('unreachable');
    expect(e.details).toEqual({ owner: 'gw-b', url: `http://127.0.0.1:${port}` });
  });

  it('peers - forwards once: the call carries who forwarded it, and a forwarded call goes no further', async () => {
    const seen: http.IncomingHttpHeaders[] = [];
    const server = http.createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.writeHead(410, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"MQ_ERR_RECEIPT_EXPIRED","message":"gone"}}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const p = peers({ 'gw-b': url });
      const a = await p.post('gw-b', '/v1/x', { topic: 't' }, { authorization: 'Bearer caller-key-0123456' });
      expect(a.status).toBe(410);
      expect(a.json).toEqual({ error: { code: 'MQ_ERR_RECEIPT_EXPIRED', message: 'gone' } });
      expect(seen[0]?.[FORWARDED_BY]).toBe('gw-a');
      expect(seen[0]?.authorization).toBe('Bearer caller-key-0123456');
      const e = await rejection(p.post('gw-b', '/v1/x', {}, { forwardedBy: 'gw-c' }));
      expect(e.code).toBe('MQ_ERR_NOT_OWNER');
      expect(e.message).toContain('not forwarded twice');
      expect(seen).toHaveLength(1);
      // with cluster.apiKey, forwarded calls carry it instead of the caller's key
      const keyed = peers({ 'gw-b': url }, { apiKey: 'cluster-key-0123456789' });
      await keyed.post('gw-b', '/v1/x', {}, { authorization: 'Bearer caller-key-0123456' });
      expect(seen[1]?.authorization).toBe('Bearer cluster-key-0123456789');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('peers - a peer that does not answer within forwardTimeoutMs is 421 after that time', async () => {
    const server = http.createServer(() => {}); // never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const p = peers({ 'gw-b': url }, { forwardTimeoutMs: 100 });
      const started = Date.now();
      const e = await rejection(p.post('gw-b', '/v1/x', {}, {}));
      expect(Date.now() - started).toBeLessThan(2000);
      expect(e.code).toBe('MQ_ERR_NOT_OWNER');
      expect(e.message).toContain('no answer within 100 ms');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
