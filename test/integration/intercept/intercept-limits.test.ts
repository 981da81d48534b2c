import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { rawExchange } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { exchange, tlsThrough } from './tunnel-client.js';

// max_connections counts clients: an intercepted tunnel's decrypted socket joins the HTTP server
// as a connection of its own, but it is the same client and must not count (or be refused) twice.
describe('interception under max_connections', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let originCa: TestCa;
  let origin: Origin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-intercept-limits-'));
    ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
    originCa = await createTestCa(['api.stripe.com']);
    origin = await startOrigin({ tls: originCa });
    proxy = await startProxy({
      limits: { maxConnections: 2 },
      resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
      upstreamCa: [originCa.caPem],
      interceptor: createInterceptor({ ca, intercepts: interceptedHosts(['stripe.com']) }),
    });
  });

  afterAll(async () => {
    await proxy.close();
    await origin.close();
    await originCa.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves two intercepted clients at max_connections 2, and refuses the third client with 503', async () => {
    const target = `api.stripe.com:${origin.port}`;
    const clients: TLSSocket[] = [];
    for (let i = 0; i < 2; i++) {
      const tls = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
      clients.push(tls);
      const answer = await exchange(tls, `GET /client-${i} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      expect(answer.status).toBe(200);
    }
    expect(proxy.server.activeConnections).toBe(2);
    const third = await rawExchange(proxy.port, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    expect(third.split('\r\n')[0]).toBe('HTTP/1.1 503 Service Unavailable');
    for (const tls of clients) tls.destroy();
  });
});
