import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { createAuthenticator } from '../../../src/gateway/authenticate.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createInterceptor, type CaInterceptor } from '../../../src/intercept/interceptor.js';
import { createFakeDecider, type FakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { exchange, openTunnel, tlsThrough } from './tunnel-client.js';

const BOT_TOKEN = 'bot-token';
const OTHER_TOKEN = 'other-token';

function basic(agent: string, token: string): string {
  return `Proxy-Authorization: Basic ${Buffer.from(`${agent}:${token}`).toString('base64')}\r\n`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Inside an intercepted session the upstream is always the CONNECT target and the agent is the
 * one the CONNECT named: a CONNECT sent inside it is refused (421), and what a misdirected request
 * named is logged as an authority only, never its query or the raw text of a Host header.
 */
describe('misdirected requests inside an intercepted session', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let originCa: TestCa;
  let origin: Origin;
  let plainOrigin: Origin;
  /** Where the nested CONNECTs point: it must never be dialled. */
  let elsewhere: Origin;
  let decider: FakeDecider;
  let interceptor: CaInterceptor;
  let proxy: StartedProxy;
  let gateway: StartedProxy;
  let target: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-misdirected-'));
    ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
    originCa = await createTestCa(['api.stripe.com']);
    origin = await startOrigin({ tls: originCa });
    plainOrigin = await startOrigin();
    elsewhere = await startOrigin();
    decider = createFakeDecider();
    interceptor = createInterceptor({ ca, intercepts: interceptedHosts(['stripe.com']) });
    const common = { decider, resolve: () => Promise.resolve({ ok: true as const, addresses: ['127.0.0.1'] }), upstreamCa: [originCa.caPem], interceptor };
    proxy = await startProxy(common);
    gateway = await startProxy({
      ...common,
      authenticate: createAuthenticator([
        { agent: 'ci-bot', sha256: sha256(BOT_TOKEN) },
        { agent: 'other', sha256: sha256(OTHER_TOKEN) },
      ]),
    });
    target = `api.stripe.com:${origin.port}`;
  });

  afterAll(async () => {
    await proxy.close();
    await gateway.close();
    await origin.close();
    await plainOrigin.close();
    await elsewhere.close();
    await originCa.remove();
    await rm(dir, { recursive: true, force: true });
  });

  /** The closed line of the intercepted CONNECT to `authority` (its session over), not that of a CONNECT refused inside it (421, the same target). */
  function sessionClosed(started: StartedProxy, authority: string): Promise<LogLine> {
    return started.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'connect' && line['target'] === authority && line['status'] === 200);
  }

  it('gateway: a CONNECT inside ci-bot’s session, with another agent’s credentials, is refused 421 and nothing is dialled', async () => {
    const session = `gateway.stripe.com:${origin.port}`;
    const nested = `127.0.0.1:${elsewhere.port}`;
    const tls = await tlsThrough(gateway.port, session, { ca: ca.certPem, servername: 'gateway.stripe.com', connectHeaders: basic('ci-bot', BOT_TOKEN) });
    const answer = await exchange(tls, `CONNECT ${nested} HTTP/1.1\r\nHost: ${nested}\r\n${basic('other', OTHER_TOKEN)}\r\nGET / HTTP/1.1\r\nHost: ${nested}\r\n\r\n`);
    tls.destroy();
    expect(answer.status).toBe(421);
    expect(answer.head).toContain('X-Kaizen-Error: KZP_ERR_MISDIRECTED');
    expect(elsewhere.connections).toBe(0);
    expect(decider.calls.filter((call) => call.action.target === nested)).toEqual([]);
    expect(decider.calls.filter((call) => call.agent === 'other')).toEqual([]);
    const line = gateway.logs.lines.find((l) => l['code'] === 'KZP_ERR_MISDIRECTED' && l.msg?.startsWith('misdirected') === true);
    expect(line).toMatchObject({ level: 'warn', target: session, named: nested, where: 'CONNECT' });
    // The client trusted the certificate and sent a request: not a handshake failure.
    const closed = await sessionClosed(gateway, session);
    expect(closed['code']).toBeUndefined();
    expect(gateway.logs.lines.filter((l) => l['code'] === 'KZP_ERR_INTERCEPT_TLS')).toEqual([]);
  });

  it('a CONNECT inside a plain-HTTP intercepted session, and one naming the session’s own target, are refused 421', async () => {
    const session = `api.stripe.com:${plainOrigin.port}`;
    const dialled = origin.connections + plainOrigin.connections;
    const plain = await openTunnel(proxy.port, session);
    plain.resume();
    const nested = `127.0.0.1:${elsewhere.port}`;
    const inPlain = await exchange(plain, `CONNECT ${nested} HTTP/1.1\r\nHost: ${nested}\r\n\r\n`);
    plain.destroy();
    expect(inPlain.status).toBe(421);
    expect(inPlain.head).toContain('X-Kaizen-Error: KZP_ERR_MISDIRECTED');

    const tls = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
    const toItself = await exchange(tls, `CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    tls.destroy();
    expect(toItself.status).toBe(421);
    expect(elsewhere.connections).toBe(0);
    expect(origin.connections + plainOrigin.connections).toBe(dialled);
    const named = proxy.logs.lines.filter((l) => l['code'] === 'KZP_ERR_MISDIRECTED' && l['where'] === 'CONNECT').map((l) => [l['target'], l['named']]);
    expect(named).toEqual([
      [session, nested],
      [target, target],
    ]);
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

  it('a Host header that is no authority is no misdirection (400, RFC 9112 §3.2) and is never logged as sent', async () => {
    const tls = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
    const answer = await exchange(tls, 'GET /v1/balance HTTP/1.1\r\nHost: evil.example/?tok=HOSTSECRET\r\n\r\n');
    tls.destroy();
    expect(answer.status).toBe(400);
    expect(answer.head).toContain('X-Kaizen-Error: KZP_ERR_BAD_REQUEST');
    await proxy.logs.waitFor((l) => l.msg === 'closed' && l['code'] === 'KZP_ERR_BAD_REQUEST' && l['target'] === target);
    expect(proxy.logs.lines.filter((l) => l['code'] === 'KZP_ERR_MISDIRECTED' && l['where'] === 'Host header')).toEqual([]);
    expect(proxy.logs.text).not.toContain('HOSTSECRET');
  });
});
