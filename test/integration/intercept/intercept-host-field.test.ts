import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { startInterception, type Interception } from '../../helpers/interception.js';
import type { Origin } from '../../helpers/origins.js';
import type { StartedProxy } from '../../helpers/start-proxy.js';
import { exchange, openTunnel, tlsThrough } from './tunnel-client.js';

/**
 * Inside an intercepted session the proxy is the origin server, so RFC 9112 §3.2 is its to
 * enforce: an HTTP/1.1 request without Host, or any request with more than one Host line, is
 * answered 400 (KZP_ERR_BAD_REQUEST) and never reaches the destination. Every refusal inside a
 * session, 400 or 421, is logged with the session's target on its closed line.
 */
describe('the Host header inside an intercepted session', () => {
  let setup: Interception;
  let ca: CertificateAuthority;
  let origin: Origin;
  let plainOrigin: Origin;
  let proxy: StartedProxy;
  let target: string;

  beforeAll(async () => {
    setup = await startInterception();
    ({ ca, origin, plainOrigin, proxy, target } = setup);
  });

  afterAll(() => setup.close());

  /** Closed lines already matched to a request: each request takes the next one. */
  const seen = new Set<Record<string, unknown>>();

  function session(): Promise<Socket> {
    return tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
  }

  /** One request in a new TLS session: its status, its X-Kaizen-Error, and the closed line the proxy logged for it. */
  async function inSession(request: string, path: string): Promise<{ status: number; error: string | undefined; closed: Record<string, unknown> }> {
    const tls = await session();
    const answer = await exchange(tls, request);
    tls.destroy();
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] !== 'connect' && line['status'] === answer.status && !seen.has(line));
    seen.add(closed);
    expect(origin.requests.filter((request) => request.url === path)).toEqual(answer.status === 200 ? [expect.anything()] : []);
    return { status: answer.status, error: /X-Kaizen-Error: (\S+)/.exec(answer.head)?.[1], closed };
  }

  it('two Host lines, the second naming another host, are refused 400 and never forwarded', async () => {
    const answer = await inSession(`GET /two-hosts HTTP/1.1\r\nHost: ${target}\r\nHost: evil.example\r\n\r\n`, '/two-hosts');
    expect(answer).toMatchObject({ status: 400, error: 'KZP_ERR_BAD_REQUEST', closed: { kind: 'http', target, code: 'KZP_ERR_BAD_REQUEST' } });
  });

  it('two identical Host lines are refused 400 too (RFC 9112 §3.2: more than one Host field line)', async () => {
    const answer = await inSession(`GET /same-hosts HTTP/1.1\r\nHost: ${target}\r\nHost: ${target}\r\n\r\n`, '/same-hosts');
    expect(answer).toMatchObject({ status: 400, error: 'KZP_ERR_BAD_REQUEST', closed: { target } });
  });

  it('an HTTP/1.1 request without Host is refused 400; an HTTP/1.0 one without Host is served', async () => {
    const missing = await inSession('GET /no-host HTTP/1.1\r\n\r\n', '/no-host');
    expect(missing).toMatchObject({ status: 400, error: 'KZP_ERR_BAD_REQUEST', closed: { target } });
    const old = await inSession('GET /no-host-1.0 HTTP/1.0\r\n\r\n', '/no-host-1.0');
    expect(old).toMatchObject({ status: 200, error: undefined, closed: { target } });
  });

  it('an upgrade request with two Host lines is refused 400, with the session target on its closed line', async () => {
    const answer = await inSession(`GET /ws-two-hosts HTTP/1.1\r\nHost: ${target}\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`, '/ws-two-hosts');
    expect(answer).toMatchObject({ status: 400, error: 'KZP_ERR_BAD_REQUEST', closed: { kind: 'upgrade', target, code: 'KZP_ERR_BAD_REQUEST' } });
  });

  it('plain HTTP inside an intercepted tunnel: an HTTP/1.1 request without Host is refused 400', async () => {
    const authority = `api.stripe.com:${plainOrigin.port}`;
    const plain = await openTunnel(proxy.port, authority);
    plain.resume();
    const answer = await exchange(plain, 'GET /plain-no-host HTTP/1.1\r\n\r\n');
    plain.destroy();
    expect(answer.status).toBe(400);
    expect(plainOrigin.requests).toEqual([]);
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'http' && line['target'] === authority);
    // Taken: a later inSession 400 must not match this session's line.
    seen.add(closed);
    expect(closed).toMatchObject({ status: 400, code: 'KZP_ERR_BAD_REQUEST' });
  });

  it('a single Host that is not host[:port] is refused 400, not 421 (RFC 9112 §3.2: an invalid Host field value)', async () => {
    for (const [host, path] of [
      ['a b', '/space-in-host'],
      ['h:p/x', '/path-in-host'],
      [`api.stripe.com:${origin.port}/x`, '/path-after-port'],
      ['api.stripe.com:99999', '/port-out-of-range'],
    ] as const) {
      const answer = await inSession(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`, path);
      expect({ host, ...answer }).toMatchObject({ host, status: 400, error: 'KZP_ERR_BAD_REQUEST', closed: { kind: 'http', target, code: 'KZP_ERR_BAD_REQUEST' } });
    }
    const upgrade = await inSession('GET /ws-bad-host HTTP/1.1\r\nHost: a b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', '/ws-bad-host');
    expect(upgrade).toMatchObject({ status: 400, error: 'KZP_ERR_BAD_REQUEST', closed: { kind: 'upgrade', target } });
    // The same for the authority of an absolute URI (with a valid Host beside it).
    const absolute = await inSession(`GET https://h:p/absolute-bad-authority HTTP/1.1\r\nHost: ${target}\r\n\r\n`, '/absolute-bad-authority');
    expect(absolute).toMatchObject({ status: 400, error: 'KZP_ERR_BAD_REQUEST', closed: { kind: 'http', target } });
    // None is a misdirection: nothing is logged as one.
    expect(proxy.logs.lines.filter((line) => line['code'] === 'KZP_ERR_MISDIRECTED' && line.msg?.startsWith('misdirected') === true)).toEqual([]);
  });

  it('a valid Host naming the session target without a port (or an empty one), or with its port, is served', async () => {
    expect(await inSession('GET /host-no-port HTTP/1.1\r\nHost: api.stripe.com\r\n\r\n', '/host-no-port')).toMatchObject({ status: 200 });
    expect(await inSession('GET /host-empty-port HTTP/1.1\r\nHost: api.stripe.com:\r\n\r\n', '/host-empty-port')).toMatchObject({ status: 200 });
    expect(await inSession(`GET /host-port HTTP/1.1\r\nHost: API.Stripe.com:${origin.port}\r\n\r\n`, '/host-port')).toMatchObject({ status: 200 });
  });

  it('a 421 inside a session (Host naming another host, absolute URI, nested CONNECT) carries the session target on its closed line', async () => {
    const misdirected = await inSession(`GET /elsewhere HTTP/1.1\r\nHost: evil.example\r\n\r\n`, '/elsewhere');
    expect(misdirected).toMatchObject({ status: 421, error: 'KZP_ERR_MISDIRECTED', closed: { kind: 'http', target, code: 'KZP_ERR_MISDIRECTED' } });
    const absolute = await inSession(`GET https://evil.example/a HTTP/1.1\r\nHost: ${target}\r\n\r\n`, '/a');
    expect(absolute).toMatchObject({ status: 421, closed: { target } });
    const upgrade = await inSession(`GET /ws HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`, '/ws');
    expect(upgrade).toMatchObject({ status: 421, closed: { kind: 'upgrade', target } });
    const tls = await session();
    const nested = await exchange(tls, 'CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n');
    tls.destroy();
    expect(nested.status).toBe(421);
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'connect' && line['status'] === 421);
    expect(closed).toMatchObject({ target, code: 'KZP_ERR_MISDIRECTED' });
  });
});
