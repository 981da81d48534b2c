import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { exchange, tlsThrough } from '../intercept/tunnel-client.js';

/**
 * Every TLS the proxy originates (absolute-form https://, requests inside an intercepted session,
 * wss:// upgrades) fails its handshake with a destination whose certificate does not verify as
 * 502 KZP_ERR_UPSTREAM_TLS, whatever Node names the reason, and the exchange's closed line says why
 * in `tls_error` (Node's code, never a message). The origins' CA is trusted (upstream_ca): one
 * origin's leaf is for client authentication only (INVALID_PURPOSE), the other is a valid server
 * certificate reached under a name it does not carry (ERR_TLS_CERT_ALTNAME_INVALID).
 */
describe('upstream TLS that fails verification', () => {
  let dir: string;
  let interceptCa: CertificateAuthority;
  let clientAuthCa: TestCa;
  let serverCa: TestCa;
  let clientAuthOrigin: Origin;
  let serverOrigin: Origin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-upstream-tls-'));
    interceptCa = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
    [clientAuthCa, serverCa] = await Promise.all([createTestCa([], { extendedKeyUsage: 'clientAuth' }), createTestCa()]);
    [clientAuthOrigin, serverOrigin] = await Promise.all([startOrigin({ tls: clientAuthCa }), startOrigin({ tls: serverCa })]);
    proxy = await startProxy({
      // localhost and a name its certificate does not carry, both to the origins on 127.0.0.1.
      resolve: () => Promise.resolve({ ok: true as const, addresses: ['127.0.0.1'] }),
      upstreamCa: [clientAuthCa.caPem, serverCa.caPem],
      interceptor: createInterceptor({ ca: interceptCa, intercepts: interceptedHosts(['localhost']) }),
    });
  });

  afterAll(async () => {
    await proxy.close();
    await Promise.all([clientAuthOrigin.close(), serverOrigin.close()]);
    await Promise.all([clientAuthCa.remove(), serverCa.remove()]);
    await rm(dir, { recursive: true, force: true });
  });

  const closedLine = (kind: string, target: string): Promise<LogLine> => proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === kind && line['target'] === target);

  async function absoluteForm(request: string): Promise<{ status: number; error: string | undefined }> {
    const client = await RawClient.open(proxy.port);
    try {
      client.write(request);
      const response = await client.readResponse();
      return { status: response.status, error: response.headers['x-kaizen-error'] };
    } finally {
      client.destroy();
    }
  }

  it('absolute-form https:// to a clientAuth-only certificate: 502 KZP_ERR_UPSTREAM_TLS, tls_error INVALID_PURPOSE', async () => {
    const target = `localhost:${clientAuthOrigin.port}`;
    expect(await absoluteForm(`GET https://${target}/eku?secret=q HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`)).toEqual({ status: 502, error: 'KZP_ERR_UPSTREAM_TLS' });
    expect(await closedLine('http', target)).toMatchObject({ status: 502, code: 'KZP_ERR_UPSTREAM_TLS', tls_error: 'INVALID_PURPOSE' });
    expect(clientAuthOrigin.requests).toEqual([]);
    expect(proxy.logs.text).not.toContain('secret=q');
  });

  it('a request inside an intercepted session to that origin: 502 KZP_ERR_UPSTREAM_TLS, tls_error INVALID_PURPOSE', async () => {
    const target = `localhost:${clientAuthOrigin.port}`;
    const tls = await tlsThrough(proxy.port, target, { ca: interceptCa.certPem, servername: 'localhost' });
    const answer = await exchange(tls, `GET /inside HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    tls.destroy();
    expect([answer.status, /X-Kaizen-Error: (\S+)/.exec(answer.head)?.[1]]).toEqual([502, 'KZP_ERR_UPSTREAM_TLS']);
    const line = await proxy.logs.waitFor((l) => l.msg === 'closed' && l['kind'] === 'http' && l['target'] === target && l['status'] === 502 && l['bytes_down'] === 0);
    expect(line).toMatchObject({ code: 'KZP_ERR_UPSTREAM_TLS', tls_error: 'INVALID_PURPOSE' });
  });

  it('a wss:// upgrade to that origin: 502 KZP_ERR_UPSTREAM_TLS, tls_error INVALID_PURPOSE', async () => {
    const target = `127.0.0.1:${clientAuthOrigin.port}`;
    const upgrade = `GET https://${target}/socket HTTP/1.1\r\nHost: ${target}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`;
    expect(await absoluteForm(upgrade)).toEqual({ status: 502, error: 'KZP_ERR_UPSTREAM_TLS' });
    expect(await closedLine('upgrade', target)).toMatchObject({ status: 502, code: 'KZP_ERR_UPSTREAM_TLS', tls_error: 'INVALID_PURPOSE' });
  });

  it('a name the certificate does not carry: KZP_ERR_UPSTREAM_TLS as before, and tls_error says it was the name', async () => {
    const target = `elsewhere.test:${serverOrigin.port}`;
    expect(await absoluteForm(`GET https://${target}/name HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`)).toEqual({ status: 502, error: 'KZP_ERR_UPSTREAM_TLS' });
    expect(await closedLine('http', target)).toMatchObject({ code: 'KZP_ERR_UPSTREAM_TLS', tls_error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    // The same origin under its own name is served: the failure above was the name alone.
    const own = `localhost:${serverOrigin.port}`;
    expect(await absoluteForm(`GET https://${own}/own HTTP/1.1\r\nHost: ${own}\r\nConnection: close\r\n\r\n`)).toEqual({ status: 200, error: undefined });
  });
});
