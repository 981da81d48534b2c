import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../../src/net/connector.js';
import { parseUpstreamProxyUrl } from '../../../src/net/upstream-proxy.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startSquid, type Squid } from '../../helpers/squid.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';

/**
 * Through a real Squid (upstream_proxy), TLS the proxy originates to the destination inside the
 * CONNECT fails as it does direct (upstream-tls-failure.test.ts): 502 KZP_ERR_UPSTREAM_TLS whatever
 * Node names the reason, never KZP_ERR_UPSTREAM_CONNECT, and `tls_error` on the closed line.
 */
describe('upstream_proxy: TLS to the destination that fails verification', () => {
  let squid: Squid;
  /** Trusted (upstream_ca), but its leaf is for client authentication only: Node's INVALID_PURPOSE. */
  let clientAuthCa: TestCa;
  let origin: Origin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    [squid, clientAuthCa] = await Promise.all([startSquid(), createTestCa([], { extendedKeyUsage: 'clientAuth' })]);
    origin = await startOrigin({ tls: clientAuthCa });
    const upstream = parseUpstreamProxyUrl(squid.url);
    if (typeof upstream === 'string') throw new Error(upstream);
    proxy = await startProxy({
      connector: createConnector({ upstream: { source: 'config', https: upstream, http: upstream, noProxy: [], ignored: [] } }),
      upstreamCa: [clientAuthCa.caPem],
    });
  });

  afterAll(async () => {
    await proxy.close();
    await Promise.all([squid.stop(), origin.close()]);
    await clientAuthCa.remove();
  });

  it('an https:// request through Squid to a clientAuth-only certificate: 502 KZP_ERR_UPSTREAM_TLS, tls_error INVALID_PURPOSE', async () => {
    const target = `localhost:${origin.port}`;
    const client = await RawClient.open(proxy.port);
    client.write(`GET https://${target}/eku HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`);
    const response = await client.readResponse();
    client.destroy();
    expect([response.status, response.headers['x-kaizen-error']]).toEqual([502, 'KZP_ERR_UPSTREAM_TLS']);
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === target);
    expect(closed).toMatchObject({ kind: 'http', status: 502, code: 'KZP_ERR_UPSTREAM_TLS', tls_error: 'INVALID_PURPOSE' });
    expect(origin.requests).toEqual([]);
    // The request reached the destination through Squid: the failure was past it.
    const tunnel = await squid.waitForLog((line) => line.method === 'CONNECT' && line.url === target);
    expect(tunnel.user).toBe(squid.user);
  });
});
