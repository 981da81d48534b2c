import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';
import { exchange, openTunnel, tlsThrough } from './tunnel-client.js';

/**
 * Whether a client refused the interception certificate is told by its handshake alone. A client
 * that trusts the CA, finishes its handshake and then sends a request node:http's parser refuses
 * itself (431 too large, 400 malformed, 408 not complete in time) did not refuse anything: no
 * KZP_ERR_INTERCEPT_TLS on its session, no CA-trust warning, and the host's one warning is still
 * there for a client that really does not trust the CA. The refused line names the session. Nor
 * did one whose request the proxy refused, or whose Expect node:http would have answered unseen.
 */
describe('interception: parser refusals of a client that trusts the CA', () => {
  const HEADER_TIMEOUT_MS = 1_000;
  let dir: string;
  let ca: CertificateAuthority;
  let proxy: StartedProxy;
  const decider = createFakeDecider();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-intercept-parser-'));
    ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
    proxy = await startProxy({
      decider,
      limits: { headerTimeoutMs: HEADER_TIMEOUT_MS },
      // Nothing is dialled: every request here is refused at the proxy.
      resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
      interceptor: createInterceptor({ ca, intercepts: interceptedHosts(['stripe.com']) }),
    });
  });

  afterAll(async () => {
    await proxy.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sessionClosed = (target: string): Promise<LogLine> => proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'connect' && line['target'] === target);
  const interceptTls = (target: string): LogLine[] => proxy.logs.lines.filter((line) => line['code'] === 'KZP_ERR_INTERCEPT_TLS' && line['target'] === target);

  /** A session to `target` with a client that trusts the CA: its first request is answered (and the session closed) by the parser's refusal. */
  async function refusedInSession(target: string, send: (tls: TLSSocket) => void): Promise<{ status: number; error: string | undefined }> {
    const tls = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: target.split(':')[0] ?? '' });
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      tls.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
      });
      tls.once('close', () => {
        resolve(text);
      });
      send(tls);
    });
    return { status: Number(answer.slice(9, 12)), error: /X-Kaizen-Error: (\S+)/.exec(answer)?.[1] };
  }

  it.each([
    { what: 'a 20 KB header (431)', host: 'large.stripe.com', status: 431, code: 'KZP_ERR_HEADERS_TOO_LARGE', request: `GET / HTTP/1.1\r\nHost: large.stripe.com\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n` },
    { what: 'a malformed header line (400)', host: 'malformed.stripe.com', status: 400, code: 'KZP_ERR_BAD_REQUEST', request: 'GET / HTTP/1.1\r\nHost: malformed.stripe.com\r\nNo colon here\r\n\r\n' },
    { what: 'a head not complete within header_timeout (408)', host: 'slow.stripe.com', status: 408, code: 'KZP_ERR_HEADER_TIMEOUT', request: 'GET / HTTP/1.1\r\nHost: slow.stripe.com\r\n' },
  ])('$what: refused with its own code, the session is no CA-trust failure', async ({ host, status, code, request }) => {
    const target = `${host}:443`;
    expect(await refusedInSession(target, (tls) => tls.write(request))).toEqual({ status, error: code });
    const closed = await sessionClosed(target);
    expect(interceptTls(target)).toEqual([]);
    expect(closed).toMatchObject({ status: 200 });
    expect(closed['code']).toBeUndefined();
    const refused = await proxy.logs.waitFor((line) => line.msg === 'refused' && line['code'] === code);
    expect(refused).toMatchObject({ status, target });
  });

  it("a first request the proxy's own framing check refuses (400) is the session's, no CA-trust failure", async () => {
    const target = 'framing.stripe.com:443';
    const request = 'GET / HTTP/1.1\r\nHost: framing.stripe.com\r\nConnection: close, Content-Length\r\n\r\n';
    expect(await refusedInSession(target, (tls) => tls.write(request))).toEqual({ status: 400, error: 'KZP_ERR_BAD_REQUEST' });
    const closed = await sessionClosed(target);
    expect(closed['code']).toBeUndefined();
    expect(interceptTls(target)).toEqual([]);
  });

  // node:http answers such a request 417 itself, unless told: then the handler never saw it.
  const EXPECT_FOO = (host: string, target: string): string => `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nExpect: foo\r\n\r\n`;
  const httpDecided = (target: string): number => decider.calls.filter((call) => call.action.kind === 'http' && call.action.target === target).length;
  const requestClosed = (target: string): Promise<LogLine> => proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'http' && line['target'] === target);

  it('a first request with an Expect other than 100-continue is answered 417 with its closed line: the session is no CA-trust failure', async () => {
    const target = 'expect.stripe.com:443';
    const tls = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'expect.stripe.com' });
    const answer = await exchange(tls, EXPECT_FOO('expect.stripe.com', '/x'));
    expect(answer.status).toBe(417);
    expect(answer.head).toMatch(/\r\nX-Kaizen-Error: KZP_ERR_EXPECTATION\r\n/i);
    expect(await requestClosed(target)).toMatchObject({ status: 417, code: 'KZP_ERR_EXPECTATION' });
    // The connection stays for the next request.
    expect((await exchange(tls, EXPECT_FOO('expect.stripe.com', '/y'))).status).toBe(417);
    tls.destroy();
    const closed = await sessionClosed(target);
    expect(closed['code']).toBeUndefined();
    expect(interceptTls(target)).toEqual([]);
    expect(httpDecided(target)).toBe(0);
  });

  it('the proxy port answers the same request the same way, outside any session', async () => {
    const target = 'plain.example.com:80';
    const client = await RawClient.open(proxy.port);
    client.write(EXPECT_FOO(target, `http://${target}/x`));
    const answer = await client.readResponse();
    expect(answer.status).toBe(417);
    expect(answer.headers['x-kaizen-error']).toBe('KZP_ERR_EXPECTATION');
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'KZP_ERR_EXPECTATION' });
    expect(await requestClosed(target)).toMatchObject({ status: 417, code: 'KZP_ERR_EXPECTATION' });
    expect(httpDecided(target)).toBe(0);
    client.destroy();
  });

  it('the host of a refused request keeps its one CA-trust warning for a client that does not trust the CA', async () => {
    // large.stripe.com's session above ended in a 431.
    const target = 'large.stripe.com:443';
    const from = proxy.logs.lines.length;
    await expect(tlsThrough(proxy.port, target, { servername: 'large.stripe.com' })).rejects.toThrow(/certificate/i);
    // Its session is the refusal, and the warning (once per host) is about it.
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === target && proxy.logs.lines.indexOf(line) >= from);
    expect(closed['code']).toBe('KZP_ERR_INTERCEPT_TLS');
    const warnings = interceptTls(target).filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ conn: closed['conn'], ca: ca.certFile });
    expect(String(warnings[0]?.msg)).toMatch(/trust the CA/);
  });

  it('a client that checks the certificate only after its handshake (TLS 1.2 in Node) and leaves is still a CA-trust failure', async () => {
    const target = 'late.stripe.com:443';
    const socket = await openTunnel(proxy.port, target);
    const refused = await new Promise<string>((resolve) => {
      const tls = tlsConnect({ socket, servername: 'late.stripe.com', maxVersion: 'TLSv1.2' });
      tls.once('secureConnect', () => {
        resolve('trusted');
      });
      tls.once('error', (error: NodeJS.ErrnoException) => {
        socket.destroy();
        resolve(error.code ?? error.message);
      });
    });
    expect(refused).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect((await sessionClosed(target))['code']).toBe('KZP_ERR_INTERCEPT_TLS');
    const warnings = interceptTls(target).filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ tls_error: 'closed after the handshake without a request', ca: ca.certFile });
  });
});

