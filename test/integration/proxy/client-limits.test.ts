import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../src/gateway/authenticate.js';
import { metricsObserver } from '../../../src/observe/metrics-observer.js';
import { createProxyMetrics, type ProxyMetrics } from '../../../src/observe/proxy-metrics.js';
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

describe('refused lines of the connection limits under a flood', () => {
  let origin: Origin | undefined;
  let proxy: StartedProxy | undefined;
  let metrics: ProxyMetrics | undefined;
  afterEach(async () => {
    metrics?.loopDelay.close();
    await Promise.all([proxy?.close(), origin?.close()]);
    proxy = undefined;
    origin = undefined;
    metrics = undefined;
  });

  /** A proxy counting into real metrics (kaizen_proxy_limit_refusals_total), its logs captured. */
  async function limited(limits: { maxConnections: number; maxConnectionsPerClient: number }): Promise<StartedProxy> {
    metrics = createProxyMetrics({ activeConnections: () => 0, activeTunnels: () => 0, cacheEntries: () => 0, policySync: () => [] });
    return startProxy({ limits, observer: metricsObserver(metrics) });
  }

  /** Opens `count` connections from `localAddress`, one after another, each read to its refusal. */
  async function refusedStatuses(port: number, localAddress: string, count: number): Promise<number[]> {
    const statuses: number[] = [];
    for (let i = 0; i < count; i++) {
      const client = await RawClient.open(port, '127.0.0.1', localAddress);
      statuses.push((await client.readResponse()).status);
      await client.closed;
    }
    return statuses;
  }

  async function hold(port: number, localAddress: string): Promise<RawClient> {
    const client = await RawClient.open(port, '127.0.0.1', localAddress);
    client.write(get(`${origin?.url ?? ''}/held`));
    expect((await client.readResponse()).status).toBe(200);
    return client;
  }

  async function refusals(limit: string): Promise<number> {
    const counter = await metrics?.limitRefusals.get();
    return counter?.values.find((value) => value.labels.limit === limit)?.value ?? 0;
  }

  it('max_connections_per_client: one line per client naming it, however many are refused; the metric counts each', async () => {
    origin = await startOrigin();
    proxy = await limited({ maxConnections: 100, maxConnectionsPerClient: 1 });
    const held = [await hold(proxy.port, '127.0.0.1'), await hold(proxy.port, OTHER)];
    expect(await refusedStatuses(proxy.port, '127.0.0.1', 40)).toEqual(Array<number>(40).fill(429));
    expect(await refusedStatuses(proxy.port, OTHER, 40)).toEqual(Array<number>(40).fill(429));
    const lines = proxy.logs.lines.filter((line) => line.msg === 'refused');
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', status: 429, code: 'KZP_ERR_LIMIT_CLIENT_CONNECTIONS', client: '127.0.0.1', max_connections_per_client: 1, suppressed: 0 }),
      expect.objectContaining({ level: 'warn', status: 429, code: 'KZP_ERR_LIMIT_CLIENT_CONNECTIONS', client: OTHER, max_connections_per_client: 1, suppressed: 0 }),
    ]);
    expect(await refusals('max_connections_per_client')).toBe(80);
    for (const client of held) client.destroy();
  });

  it('max_connections: one line for the limit, naming the client where addresses are read; the metric counts each', async () => {
    origin = await startOrigin();
    // A per-client limit has the proxy read client addresses, so the refusal can name one.
    proxy = await limited({ maxConnections: 1, maxConnectionsPerClient: 5 });
    const held = await hold(proxy.port, '127.0.0.1');
    expect(await refusedStatuses(proxy.port, '127.0.0.1', 20)).toEqual(Array<number>(20).fill(503));
    expect(await refusedStatuses(proxy.port, OTHER, 20)).toEqual(Array<number>(20).fill(503));
    // The limit is the proxy's, not the client's: a flood from many addresses still writes one line.
    expect(proxy.logs.lines.filter((line) => line.msg === 'refused')).toEqual([
      expect.objectContaining({ level: 'warn', status: 503, code: 'KZP_ERR_LIMIT_CONNECTIONS', client: '127.0.0.1', max_connections: 1, suppressed: 0 }),
    ]);
    expect(await refusals('max_connections')).toBe(40);
    held.destroy();
  });
});
