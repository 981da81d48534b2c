import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../src/gateway/authenticate.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

function get(url: string): string {
  return `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n\r\n`;
}

/** Two clients: 127.0.0.1 and 127.0.0.2 (the proxy listens on 127.0.0.1; any loopback source reaches it). */
const OTHER = '127.0.0.2';

describe('per-client limits', () => {
  let origin: Origin | undefined;
  let proxy: StartedProxy | undefined;
  afterEach(async () => {
    await Promise.all([proxy?.close(), origin?.close()]);
    proxy = undefined;
    origin = undefined;
  });

  it('client_rate: past its burst a client gets 429 with Retry-After, unasked and unforwarded, while another client is served', async () => {
    origin = await startOrigin();
    const decider = createFakeDecider();
    proxy = await startProxy({ decider, limits: { clientRatePerSecond: 0.1, clientBurst: 2 } });
    const client = await RawClient.open(proxy.port);
    for (const path of ['/one', '/two']) {
      client.write(get(`${origin.url}${path}`));
      expect((await client.readResponse()).status).toBe(200);
    }
    client.write(get(`${origin.url}/three`));
    const limited = await client.readResponse();
    expect(limited.status).toBe(429);
    // One action per 10 s: the next token is at most 10 s away (the unit test pins the arithmetic).
    const wait = Number(limited.headers['retry-after']);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(10);
    expect(limited.headers['x-kaizen-error']).toBe('KZP_ERR_LIMIT_RATE');
    expect(limited.headers['x-kaizen-decision']).toBeUndefined();
    expect(JSON.parse(limited.body)).toMatchObject({ error: 'KZP_ERR_LIMIT_RATE', retry_after: wait });

    const tunnel = await RawClient.open(proxy.port);
    tunnel.write(`CONNECT 127.0.0.1:${origin.port} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    expect((await tunnel.readResponse()).status).toBe(429);

    const other = await RawClient.open(proxy.port, '127.0.0.1', OTHER);
    other.write(get(`${origin.url}/other`));
    expect((await other.readResponse()).status).toBe(200);

    expect(origin.requests.map((seen) => seen.url)).toEqual(['/one', '/two', '/other']);
    expect(decider.calls).toHaveLength(3);
    const line = await proxy.logs.waitFor((entry) => entry.msg === 'decision' && entry['source'] === 'limit');
    expect(line).toMatchObject({ decision: 'block', reason: 'client_rate', kind: 'http' });
    // The closed line names each client by its address.
    expect(await proxy.logs.waitFor((entry) => entry.msg === 'closed' && entry['client'] === OTHER)).toMatchObject({ status: 200 });
    client.destroy();
    tunnel.destroy();
    other.destroy();
  });

  it('client_rate in gateway mode counts per agent: two agents from one address have a bucket each', async () => {
    origin = await startOrigin();
    const sha = (token: string): string => createHash('sha256').update(token).digest('hex');
    const authenticate = createAuthenticator([
      { agent: 'loopy', sha256: sha('t1') },
      { agent: 'calm', sha256: sha('t2') },
    ]);
    proxy = await startProxy({ authenticate, limits: { clientRatePerSecond: 0.1, clientBurst: 1 } });
    const as = (agent: string, token: string, path: string): string =>
      `GET ${origin?.url ?? ''}${path} HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic ${Buffer.from(`${agent}:${token}`).toString('base64')}\r\n\r\n`;
    const client = await RawClient.open(proxy.port);
    client.write(as('loopy', 't1', '/a'));
    expect((await client.readResponse()).status).toBe(200);
    client.write(as('loopy', 't1', '/b'));
    expect((await client.readResponse()).status).toBe(429);
    client.write(as('calm', 't2', '/c'));
    expect((await client.readResponse()).status).toBe(200);
    client.destroy();
  });

  it('max_connections_per_client: a client holding its share gets 429 on the next connection; other clients are admitted', async () => {
    origin = await startOrigin();
    proxy = await startProxy({ limits: { maxConnectionsPerClient: 2 } });
    const held = [await RawClient.open(proxy.port), await RawClient.open(proxy.port)];
    for (const client of held) {
      client.write(get(`${origin.url}/held`));
      expect((await client.readResponse()).status).toBe(200);
    }
    const third = await RawClient.open(proxy.port);
    const refused = await third.readResponse();
    expect(refused.status).toBe(429);
    expect(refused.headers['x-kaizen-error']).toBe('KZP_ERR_LIMIT_CLIENT_CONNECTIONS');
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    await third.closed;

    const other = await RawClient.open(proxy.port, '127.0.0.1', OTHER);
    other.write(get(`${origin.url}/other`));
    expect((await other.readResponse()).status).toBe(200);

    // Once one of the two closes (the proxy sees it a few turns later), the client is admitted again.
    const first = held[0];
    if (first === undefined) throw new Error('two clients expected');
    first.destroy();
    await first.closed;
    let status = 0;
    for (let attempt = 0; attempt < 200 && status !== 200; attempt++) {
      const again = await RawClient.open(proxy.port);
      again.write(get(`${origin.url}/again`));
      status = (await again.readResponse()).status;
      again.destroy();
      await again.closed;
    }
    expect(status).toBe(200);
    held[1]?.destroy();
    other.destroy();
  });
});
