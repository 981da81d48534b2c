import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createInterceptor, type CaInterceptor } from '../../../src/intercept/interceptor.js';
import { createFakeDecider, type FakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { exchange, tlsThrough } from './tunnel-client.js';

/**
 * Inside an intercepted session the upstream is always the CONNECT target: what a misdirected
 * request named is logged as an authority only, never its query or the raw text of a Host header.
 */
describe('misdirected requests inside an intercepted session', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let originCa: TestCa;
  let origin: Origin;
  let decider: FakeDecider;
  let interceptor: CaInterceptor;
  let proxy: StartedProxy;
  let target: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-misdirected-'));
    ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
    originCa = await createTestCa(['api.stripe.com']);
    origin = await startOrigin({ tls: originCa });
    decider = createFakeDecider();
    interceptor = createInterceptor({ ca, intercepts: interceptedHosts(['stripe.com']) });
    proxy = await startProxy({ decider, resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }), upstreamCa: [originCa.caPem], interceptor });
    target = `api.stripe.com:${origin.port}`;
  });

  afterAll(async () => {
    await proxy.close();
    await origin.close();
    await originCa.remove();
    await rm(dir, { recursive: true, force: true });
  });

  it('logs the authority of a misdirected absolute URI, never its path or query (requests and upgrades)', async () => {
    const tls = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
    const request = await exchange(tls, `GET https://evil.example/a?tok=QS4SECRET HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    expect(request.status).toBe(421);
    tls.destroy();
    const upgrading = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
    const upgrade = await exchange(upgrading, `GET https://evil.example:8443/ws?tok=UPGRADESECRET HTTP/1.1\r\nHost: ${target}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
    upgrading.destroy();
    expect(upgrade.status).toBe(421);
    // Logged before the 421 is written.
    const named = proxy.logs.lines.filter((l) => l['code'] === 'KZP_ERR_MISDIRECTED' && l['where'] === 'request target').map((l) => l['named']);
    expect(named).toEqual(['evil.example:443', 'evil.example:8443']);
    expect(proxy.logs.text).not.toContain('QS4SECRET');
    expect(proxy.logs.text).not.toContain('UPGRADESECRET');
    expect(origin.requests.filter((seen) => seen.url.includes('SECRET'))).toEqual([]);
  });

  it('logs a Host header that is no authority as a placeholder, never as sent', async () => {
    const tls = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
    const answer = await exchange(tls, 'GET /v1/balance HTTP/1.1\r\nHost: evil.example/?tok=HOSTSECRET\r\n\r\n');
    tls.destroy();
    expect(answer.status).toBe(421);
    const named = proxy.logs.lines.filter((l) => l['code'] === 'KZP_ERR_MISDIRECTED' && l['where'] === 'Host header').map((l) => l['named']);
    expect(named).toEqual(['(not an authority)']);
    expect(proxy.logs.text).not.toContain('HOSTSECRET');
  });
});
