import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { sleep, until } from '../../helpers/broker.js';
import type { TestGateway } from '../../helpers/gateway.js';
import { startGateway } from '../../helpers/gateway.js';
import type { WsClient } from '../../helpers/ws-client.js';
import { connectWs, wsUrl } from '../../helpers/ws-client.js';

const ADMIN = 'admin-key-0123456789';
const PUB = 'pub-key-0123456789ab';
const SUB = 'sub-key-0123456789ab';

let gw: TestGateway;
const clients: WsClient[] = [];
beforeAll(async () => {
  gw = await startGateway({
    api: { wsHeartbeatMs: 100, checkTimeoutMs: 3000 },
    auth: {
      keys: [
        { name: 'admin', key: ADMIN, admin: true },
        { name: 'producer', key: PUB, topics: { AuthTopic: 'PUB' } },
        {
          name: 'consumer',
          key: SUB,
          topics: { AuthTopic: 'SUB' },
          groups: { AuthGroup: 'SUB', HbGroup: 'SUB' },
        },
      ],
    },
  });
  gw.gateway.upsertTopic('AuthTopic');
  gw.gateway.upsertTopic('SecretTopic');
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await gw.stop();
});

async function as(key: string, how: 'header' | 'query' = 'header'): Promise<WsClient> {
  const c = await connectWs(
    gw.url,
    how === 'header' ? { headers: { authorization: `Bearer ${key}` } } : { query: `?access_token=${key}` },
  );
  clients.push(c);
  return c;
}

/** The HTTP status an upgrade request is refused with. */
function refusal(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += String(d)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}

describe('WebSocket upgrade', () => {
  it('refuses a missing or unknown key with 401, and other paths with 404, in the REST error shape', async () => {
    const none = await refusal(wsUrl(gw.url));
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe('MQ_ERR_UNAUTHORIZED');
    expect((await refusal(wsUrl(gw.url), { authorization: 'Bearer not-a-known-key-at-all' })).status).toBe(
      401,
    );
    expect((await refusal(wsUrl(gw.url, '?access_token=wrong-wrong-wrong'))).status).toBe(401);
    const other = await refusal(`${gw.url.replace('http', 'ws')}/v1/elsewhere`, {
      authorization: `Bearer ${ADMIN}`,
    });
    expect(other.status).toBe(404);
    expect(JSON.parse(other.body).error.code).toBe('MQ_ERR_NOT_FOUND');
  });
});

describe('WebSocket permissions', () => {
  it('checks PUB per publish', async () => {
    const p = await as(PUB);
    expect(await p.call({ id: 1, op: 'publish', topic: 'AuthTopic', message: { body: 'ok' } })).toMatchObject(
      {
        op: 'result',
      },
    );
    const denied = await p.call({ id: 2, op: 'publish', topic: 'SecretTopic', message: { body: 'no' } });
    expect(denied).toMatchObject({ id: 2, op: 'error', code: 'MQ_ERR_FORBIDDEN' });
    const sub = await p.call({ id: 3, op: 'subscribe', group: 'AuthGroup', topic: 'AuthTopic' });
    expect(sub).toMatchObject({ id: 3, op: 'error', code: 'MQ_ERR_FORBIDDEN' });
  });

  it('checks SUB on topic and group per subscribe (key given as access_token)', async () => {
    const s = await as(SUB, 'query');
    expect(await s.call({ id: 1, op: 'subscribe', group: 'AuthGroup', topic: 'AuthTopic' })).toEqual({
      id: 1,
      op: 'ok',
    });
    const group = await s.call({ id: 2, op: 'subscribe', group: 'OtherGroup', topic: 'AuthTopic' });
    expect(group).toMatchObject({ op: 'error', code: 'MQ_ERR_FORBIDDEN' });
    expect(group.message).toContain('OtherGroup');
    const pub = await s.call({ id: 3, op: 'publish', topic: 'AuthTopic', message: { body: 'no' } });
    expect(pub).toMatchObject({ op: 'error', code: 'MQ_ERR_FORBIDDEN' });
    const tx = await s.call({ id: 4, op: 'txRegister', producerGroup: 'AuthProducers' });
    expect(tx).toMatchObject({ op: 'error', code: 'MQ_ERR_FORBIDDEN' });
  });

  it('sends a check channel only the checks of topics its key may publish to', async () => {
    const p = await as(PUB);
    expect(await p.call({ id: 'r', op: 'txRegister', producerGroup: 'AuthProducers' })).toEqual({
      id: 'r',
      op: 'ok',
    });
    const secret = await gw.gateway.prepare('SecretTopic', 'AuthProducers', { body: 'secret' });
    const t0 = Date.now();
    await gw.gateway.broker.checkTransactions();
    // answered UNKNOWN at once, without a frame: not after the 3 s a check channel is given
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(p.frames.some((f) => f.op === 'txCheck')).toBe(false);
    await gw.gateway.rollback(secret.transactionId);
    const mine = await gw.gateway.prepare('AuthTopic', 'AuthProducers', { body: 'mine' });
    const checking = gw.gateway.broker.checkTransactions();
    const check = await p.next((f) => f.op === 'txCheck');
    expect(check.transactionId).toBe(mine.transactionId);
    p.send({ op: 'txResolve', checkId: check.checkId, transactionId: mine.transactionId, state: 'ROLLBACK' });
    await checking;
  });
});

describe('WebSocket heartbeat and shutdown', () => {
  it('terminates a connection that stops answering pings, and releases its messages', async () => {
    gw.gateway.upsertGroup('HbGroup', { consumeFrom: 'FIRST' });
    const quiet = await as(SUB);
    await quiet.call({ id: 'q', op: 'subscribe', group: 'HbGroup', topic: 'AuthTopic' });
    const m = await quiet.next((f) => f.op === 'message');
    const before = gw.app.wsApi.size;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- ws keeps its net.Socket private
    (quiet.ws as any)._socket.pause();
    const alive = await as(ADMIN);
    await until(() => gw.app.wsApi.size === before, 2000); // quiet is gone, alive came
    await sleep(300); // several heartbeats: the answering client stays
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    expect(gw.app.wsApi.stats().some((c) => c.subscriptions.some((s) => s.id === 'q'))).toBe(false);
    expect(await alive.call({ id: 'p', op: 'ping' })).toEqual({ id: 'p', op: 'pong' });
    await alive.call({ id: 'hb', op: 'subscribe', group: 'HbGroup', topic: 'AuthTopic' });
    const again = await alive.next((f) => f.op === 'message' && f.message.msgId === m.message.msgId);
    expect(again.message.deliveryAttempt).toBeGreaterThanOrEqual(1);
    quiet.ws.terminate(); // its socket is paused: it would wait out the closing handshake
  });

  it('closes every socket with 1001 when the app closes', async () => {
    const a = await as(ADMIN);
    await a.call({ id: 's', op: 'subscribe', group: 'AuthGroup', topic: 'AuthTopic' });
    const b = await as(PUB);
    await gw.stop();
    expect((await a.closed).code).toBe(1001);
    expect((await b.closed).code).toBe(1001);
  });
});
