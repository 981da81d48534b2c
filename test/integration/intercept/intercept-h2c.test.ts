import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { createFakeDecider, type FakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { exchange, openTunnel, tlsThrough } from './tunnel-client.js';

function h2cUpgrade(path: string, host: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`;
}

/**
 * An h2c upgrade inside an intercepted session would turn it into HTTP/2 after the origin's 101, and
 * every stream after it (any path) would reach the origin without a decision: the proxy drops the
 * Upgrade and sends an ordinary HTTP/1.1 request, decided like every other request in the session.
 */
describe('h2c upgrades inside an intercepted session', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let originCa: TestCa;
  let origin: Origin;
  let plainOrigin: Origin;
  let decider: FakeDecider;
  let proxy: StartedProxy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-intercept-h2c-'));
    ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
    originCa = await createTestCa(['api.stripe.com']);
    origin = await startOrigin({ tls: originCa });
    plainOrigin = await startOrigin();
    decider = createFakeDecider();
    proxy = await startProxy({
      decider,
      resolve: () => Promise.resolve({ ok: true as const, addresses: ['127.0.0.1'] }),
      upstreamCa: [originCa.caPem],
      interceptor: createInterceptor({ ca, intercepts: interceptedHosts(['stripe.com']) }),
    });
  });

  afterAll(async () => {
    await proxy.close();
    await origin.close();
    await plainOrigin.close();
    await originCa.remove();
    await rm(dir, { recursive: true, force: true });
  });

  /** The upgrade, then a second request on the same session: both ordinary, both decided. */
  async function expectOrdinary(session: Socket, authority: string, scheme: 'http' | 'https', seen: Origin): Promise<void> {
    const answer = await exchange(session, h2cUpgrade('/v1/h2c-upgrade', authority));
    expect(answer.status).toBe(200);
    const echoed = JSON.parse(answer.body) as { headers: Record<string, string> };
    expect(echoed.headers).not.toHaveProperty('upgrade');
    expect(echoed.headers).not.toHaveProperty('http2-settings');
    const next = await exchange(session, `GET /v1/after-h2c HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    session.destroy();
    expect(next.status).toBe(200);
    const paths = decider.calls.filter((call) => call.action.target === authority && call.action.kind === 'http').map((call) => [call.action.metadata.path, call.action.metadata.scheme]);
    expect(paths).toEqual([
      ['/v1/h2c-upgrade', scheme],
      ['/v1/after-h2c', scheme],
    ]);
    expect(seen.requests.filter((request) => request.headers.upgrade !== undefined)).toEqual([]);
  }

  it('terminated TLS: the upgrade is dropped and the request forwarded as HTTP/1.1', async () => {
    const authority = `api.stripe.com:${origin.port}`;
    const tls = await tlsThrough(proxy.port, authority, { ca: ca.certPem, servername: 'api.stripe.com' });
    await expectOrdinary(tls, authority, 'https', origin);
  });

  it('plain HTTP inside an intercepted CONNECT: the same', async () => {
    const authority = `api.stripe.com:${plainOrigin.port}`;
    const plain = await openTunnel(proxy.port, authority);
    plain.resume();
    await expectOrdinary(plain, authority, 'http', plainOrigin);
  });
});
