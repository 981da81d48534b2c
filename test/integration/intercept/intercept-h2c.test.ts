import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import type { FakeDecider } from '../../helpers/fake-decider.js';
import { startInterception, type Interception } from '../../helpers/interception.js';
import type { Origin } from '../../helpers/origins.js';
import type { StartedProxy } from '../../helpers/start-proxy.js';
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
  let setup: Interception;
  let ca: CertificateAuthority;
  let origin: Origin;
  let plainOrigin: Origin;
  let decider: FakeDecider;
  let proxy: StartedProxy;

  beforeAll(async () => {
    setup = await startInterception();
    ({ ca, origin, plainOrigin, decider, proxy } = setup);
  });

  afterAll(() => setup.close());

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
