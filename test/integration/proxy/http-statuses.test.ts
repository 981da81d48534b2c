import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolution } from '../../../src/contract/decision.js';
import type { Target } from '../../../src/contract/target.js';
import { startBlackhole, type Blackhole } from '../../helpers/blackhole.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { closedPort } from '../../helpers/closed-port.js';

/** Names ending in .test resolve to loopback, except nxdomain.test; nothing leaves the machine. */
function testResolve(target: Target): Promise<Resolution> {
  if (target.host === 'nxdomain.test') return Promise.resolve({ ok: false, code: 'KZP_ERR_DNS', message: 'lookup failed: ENOTFOUND' });
  return Promise.resolve({ ok: true, addresses: [target.hostType === 'dns' ? '127.0.0.1' : target.host] });
}

describe('plain HTTP statuses', () => {
  let origin: Origin;
  let blackhole: Blackhole;
  let proxy: StartedProxy;
  const decider = createFakeDecider({ failClosed: ['unknown.test'], guard: ['metadata.test'], monitor: ['watched.test'] });

  beforeAll(async () => {
    [origin, blackhole] = await Promise.all([startOrigin(), startBlackhole()]);
    proxy = await startProxy({ decider, resolve: testResolve, network: { connectTimeoutMs: 300 } });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close(), blackhole.close()]);
  });

  async function exchange(client: RawClient, request: string): Promise<Awaited<ReturnType<RawClient['readResponse']>>> {
    client.write(request);
    return client.readResponse();
  }

  it('answers 503, 403, 502 and 504 on one keep-alive connection, each distinguishable, then still forwards', async () => {
    const client = await RawClient.open(proxy.port);
    const noVerdict = await exchange(client, `GET http://unknown.test:${origin.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(noVerdict.status).toBe(503);
    expect(noVerdict.headers['retry-after']).toMatch(/^\d+$/);
    expect(noVerdict.headers['x-kaizen-decision']).toBe('block');
    expect(JSON.parse(noVerdict.body)).toMatchObject({ error: 'KZP_ERR_NO_VERDICT' });

    const guard = await exchange(client, `GET http://metadata.test/latest HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(guard.status).toBe(403);
    expect(JSON.parse(guard.body)).toMatchObject({ error: 'KZP_ERR_GUARD', target: 'metadata.test:80' });

    const dns = await exchange(client, `GET http://nxdomain.test/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(dns.status).toBe(502);
    expect(dns.headers['x-kaizen-error']).toBe('KZP_ERR_DNS');
    expect(dns.headers['x-kaizen-decision']).toBeUndefined();

    const refused = await exchange(client, `POST http://127.0.0.1:${await closedPort()}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world`);
    expect(refused.status).toBe(502);
    expect(refused.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_CONNECT');

    const timeout = await exchange(client, `GET http://127.0.0.1:${blackhole.port}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(timeout.status).toBe(504);
    expect(timeout.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_TIMEOUT');

    const ok = await exchange(client, `GET ${origin.url}/still-here HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(ok.status).toBe(200);
    client.destroy();
  });

  it('forwards a monitored block and flags it in the decision line', async () => {
    const client = await RawClient.open(proxy.port);
    const response = await exchange(client, `GET http://watched.test:${origin.port}/monitored HTTP/1.1\r\nHost: x\r\n\r\n`);
    client.destroy();
    expect(response.status).toBe(200);
    const line = await proxy.logs.waitFor((l) => l.msg === 'decision' && l['target'] === `watched.test:${origin.port}`);
    expect(Object.keys(line).filter((key) => !['level', 'time', 'name', 'conn', 'msg'].includes(key)).sort()).toEqual(
      ['agent', 'decision', 'kind', 'method', 'ms', 'reason', 'source', 'target', 'verdict_id', 'would_block'].sort(),
    );
    expect(line).toMatchObject({ kind: 'http', method: 'GET', decision: 'block', would_block: true, verdict_id: 'v-test-monitor' });
  });
});
