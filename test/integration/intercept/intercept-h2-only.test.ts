import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';
import { openTunnel, tlsThrough } from './tunnel-client.js';

/**
 * The interception speaks HTTP/1.1 only: a client whose ALPN offers h2 alone (gRPC) cannot be
 * served, and that is not a CA-trust problem, so its hint must not be the trust hint, nor use up
 * the host's one trust warning.
 */
describe('interception: a client that offers only h2', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let proxy: StartedProxy;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-intercept-h2-'));
    ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
    proxy = await startProxy({
      // Nothing is dialled: the handshakes end at the proxy.
      resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
      interceptor: createInterceptor({ ca, intercepts: interceptedHosts(['stripe.com']) }),
    });
  });

  afterAll(async () => {
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('gets an h2 hint, and a later client that refuses the certificate still gets the trust warning', async () => {
    const target = 'grpc.stripe.com:443';
    const socket = await openTunnel(proxy.port, target);
    const failure = await new Promise<Error>((resolve, reject) => {
      const tls = tlsConnect({ socket, servername: 'grpc.stripe.com', ca: ca.certPem, ALPNProtocols: ['h2'] });
      tls.once('secureConnect', () => {
        tls.destroy();
        reject(new Error(`the handshake succeeded with ALPN ${String(tls.alpnProtocol)}`));
      });
      tls.once('error', (error: Error) => {
        socket.destroy();
        resolve(error);
      });
    });
    expect(failure.message).toMatch(/no application protocol/i);
    const intercepted = (line: LogLine): boolean => line['code'] === 'KZP_ERR_INTERCEPT_TLS' && line['target'] === target;
    const hint = await proxy.logs.waitFor((line) => intercepted(line) && line.level === 'warn');
    expect(hint['tls_error']).toBe('ERR_SSL_NO_APPLICATION_PROTOCOL');
    expect(String(hint.msg)).toMatch(/offers only h2 .*HTTP\/1\.1 only.*remove the host from intercept\.hosts/);
    expect(String(hint.msg)).not.toMatch(/trust the CA/);
    await proxy.logs.waitFor((line) => intercepted(line) && line.msg === 'closed');

    // The same host, a client without the CA: the trust warning was not spent on the h2 client.
    await expect(tlsThrough(proxy.port, target, { servername: 'grpc.stripe.com' })).rejects.toThrow(/certificate/i);
    const trust = await proxy.logs.waitFor((line) => intercepted(line) && line.level === 'warn' && String(line.msg).includes('trust the CA'));
    expect(trust).toMatchObject({ ca: ca.certFile });
    // Another h2-only client to that host is not warned about again.
    const again = await openTunnel(proxy.port, target);
    await new Promise<void>((resolve) => {
      const tls = tlsConnect({ socket: again, servername: 'grpc.stripe.com', ca: ca.certPem, ALPNProtocols: ['h2'] });
      tls.once('error', () => {
        again.destroy();
        resolve();
      });
    });
    await proxy.logs.waitFor(() => proxy.logs.lines.filter((line) => intercepted(line) && line.msg === 'closed').length >= 3);
    expect(proxy.logs.lines.filter((line) => intercepted(line) && line.level === 'warn')).toHaveLength(2);
  });
});
