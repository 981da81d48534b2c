import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActionLabels } from '../../../src/action/action-labels.js';
import { parseToolRoute, type ToolRoute } from '../../../src/action/tool-routes.js';
import type { Decider, Decision } from '../../../src/contract/decision.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import type { CaInterceptor } from '../../../src/intercept/interceptor.js';
import type { FakeDecider } from '../../helpers/fake-decider.js';
import { startInterception, type Interception } from '../../helpers/interception.js';
import type { Origin } from '../../helpers/origins.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';
import type { TestCa } from '../../helpers/test-ca.js';
import { exchange, openTunnel, tlsThrough } from './tunnel-client.js';

const run = promisify(execFile);

function route(match: string, tool: string, publisher?: string): ToolRoute {
  const parsed = parseToolRoute(publisher === undefined ? { match, tool } : { match, tool, publisher });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.route;
}

/** Intercepted CONNECTs to a local HTTPS origin posing as api.stripe.com (every name resolves to 127.0.0.1). */
describe('TLS interception', () => {
  let setup: Interception;
  let ca: CertificateAuthority;
  let originCa: TestCa;
  let origin: Origin;
  let plainOrigin: Origin;
  let decider: FakeDecider;
  let interceptor: CaInterceptor;
  let proxy: StartedProxy;
  let target: string;

  beforeAll(async () => {
    setup = await startInterception({ labels: createActionLabels({ routes: [route('POST api.stripe.com/v1/refunds', 'issue_refund', 'stripe')], publishers: true }) });
    ({ ca, originCa, origin, plainOrigin, decider, interceptor, proxy, target } = setup);
  });

  afterAll(() => setup.close());

  it('curl --cacert: a mapped route is a tool_call, decided and forwarded to the CONNECT target', async () => {
    const { stdout } = await run('curl', ['-sS', '--fail', '--cacert', ca.certFile, '-x', proxy.url, '-d', 'amount=100', `https://${target}/v1/refunds?key=query-secret`]);
    expect(JSON.parse(stdout)).toMatchObject({ method: 'POST', url: '/v1/refunds?key=query-secret', headers: { host: target } });
    const actions = decider.calls.map((call) => call.action).filter((action) => action.target === target);
    expect(actions).toContainEqual({ kind: 'connect', target, publisher: 'stripe', metadata: { source: 'egress' } });
    expect(actions).toContainEqual({
      kind: 'tool_call',
      tool: 'issue_refund',
      target,
      publisher: 'stripe',
      metadata: { source: 'egress', method: 'POST', path: '/v1/refunds', scheme: 'https' },
    });
    await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'http');
    expect(proxy.logs.text).not.toContain('query-secret');
  });

  it('python3 (ssl with the CA as cafile, X.509 strict): an unmapped path is an http action with its publisher', async () => {
    const script = [
      'import ssl, sys, urllib.request',
      'ctx = ssl.create_default_context(cafile=sys.argv[1])',
      'ctx.verify_flags |= ssl.VERIFY_X509_STRICT',
      "opener = urllib.request.build_opener(urllib.request.ProxyHandler({'https': sys.argv[2]}), urllib.request.HTTPSHandler(context=ctx))",
      'print(opener.open(sys.argv[3]).read().decode())',
    ].join('\n');
    const { stdout } = await run('python3', ['-c', script, ca.certFile, proxy.url, `https://${target}/v1/customers/cus_1`]);
    expect(JSON.parse(stdout)).toMatchObject({ method: 'GET', url: '/v1/customers/cus_1' });
    expect(decider.calls.map((call) => call.action)).toContainEqual({
      kind: 'http',
      target,
      publisher: 'stripe',
      metadata: { source: 'egress', method: 'GET', path: '/v1/customers/cus_1', scheme: 'https' },
    });
  });

  it('refuses a Host naming another host with 421 and never reaches the origin for it', async () => {
    const before = origin.requests.length;
    const tls = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
    const answer = await exchange(tls, 'GET /v1/balance HTTP/1.1\r\nHost: evil.example\r\n\r\n');
    tls.destroy();
    expect(answer.status).toBe(421);
    expect(answer.head).toContain('X-Kaizen-Error: KZP_ERR_MISDIRECTED');
    expect(origin.requests.length).toBe(before);
    const line = await proxy.logs.waitFor((l) => l['code'] === 'KZP_ERR_MISDIRECTED' && l.msg?.startsWith('misdirected') === true);
    expect(line).toMatchObject({ target, named: 'evil.example:443', where: 'Host header' });
  });

  it('decides each request on its own: a blocked tool inside an allowed tunnel gets 403, the next request goes through', async () => {
    const blocking: Decider = {
      decide: (request) => Promise.resolve(request.action.tool === 'issue_refund' ? blockDecision : allowDecision),
    };
    const strict = await startProxy({
      decider: blocking,
      resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
      upstreamCa: [originCa.caPem],
      interceptor,
      labels: createActionLabels({ routes: [route('POST api.stripe.com/v1/refunds', 'issue_refund')], publishers: true }),
    });
    try {
      const before = origin.requests.length;
      const tls = await tlsThrough(strict.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
      const blocked = await exchange(tls, `POST /v1/refunds HTTP/1.1\r\nHost: ${target}\r\nContent-Length: 2\r\n\r\nab`);
      expect(blocked.status).toBe(403);
      expect(blocked.head).toContain('X-Kaizen-Decision: block');
      const allowed = await exchange(tls, `GET /v1/balance HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
      expect(allowed.status).toBe(200);
      tls.destroy();
      expect(origin.requests.slice(before).map((r) => r.url)).toEqual(['/v1/balance']);
    } finally {
      await strict.close();
    }
  });

  it('relays a WebSocket upgrade inside the tunnel after deciding it (scheme wss)', async () => {
    const tls = await tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.stripe.com' });
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      tls.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (text.includes('ping-through')) resolve(text);
      });
      tls.write(`GET /socket HTTP/1.1\r\nHost: ${target}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
      tls.write('ping-through');
    });
    tls.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 101/);
    expect(answer).not.toContain('X-Kaizen-Decision');
    const upgrade = decider.calls.find((call) => call.action.metadata.path === '/socket')?.action;
    expect(upgrade).toMatchObject({ kind: 'http', target, metadata: { method: 'GET', path: '/socket', scheme: 'wss' } });
  });

  it('serves plain HTTP spoken inside an intercepted tunnel the same way (decided per request, pinned)', async () => {
    const plainTarget = `api.stripe.com:${plainOrigin.port}`;
    const socket = await openTunnel(proxy.port, plainTarget);
    socket.resume();
    const answer = await exchange(socket, `GET /plain HTTP/1.1\r\nHost: ${plainTarget}\r\n\r\n`);
    socket.destroy();
    expect(answer.status).toBe(200);
    const plain = decider.calls.find((call) => call.action.metadata.path === '/plain')?.action;
    expect(plain).toMatchObject({ kind: 'http', target: plainTarget, metadata: { scheme: 'http', path: '/plain' } });
  });

  it('a client that does not trust the CA fails fast, and the host is logged once with a hint', async () => {
    const started = performance.now();
    const curl = await run('curl', ['-sS', '-x', proxy.url, `https://untrusted.stripe.com:${origin.port}/`]).then(
      () => null,
      (error: unknown) => error as { code: number },
    );
    expect(curl?.code).toBe(60);
    await expect(tlsThrough(proxy.port, `untrusted.stripe.com:${origin.port}`, { servername: 'untrusted.stripe.com' })).rejects.toThrow(/certificate/i);
    expect(performance.now() - started).toBeLessThan(5_000);
    const hint = await proxy.logs.waitFor((line) => line['code'] === 'KZP_ERR_INTERCEPT_TLS' && line.level === 'warn');
    expect(hint).toMatchObject({ target: `untrusted.stripe.com:${origin.port}`, ca: ca.certFile });
    expect(String(hint.msg)).toMatch(/trust the CA/);
    const closedRefused = (line: LogLine): boolean => line.msg === 'closed' && line['code'] === 'KZP_ERR_INTERCEPT_TLS';
    await proxy.logs.waitFor(() => proxy.logs.lines.filter(closedRefused).length >= 2);
    expect(proxy.logs.lines.filter((line) => line['code'] === 'KZP_ERR_INTERCEPT_TLS' && line.level === 'warn')).toHaveLength(1);
  });

  it('20 simultaneous first handshakes to one host mint one certificate', async () => {
    const before = interceptor.stats.minted;
    const sockets = await Promise.all(Array.from({ length: 20 }, () => tlsThrough(proxy.port, `burst.stripe.com:${origin.port}`, { ca: ca.certPem, servername: 'burst.stripe.com' })));
    for (const socket of sockets) socket.destroy();
    expect(interceptor.stats.minted - before).toBe(1);
  });

  it('hosts outside intercept.hosts stay opaque tunnels (the origin certificate reaches the client)', async () => {
    const tls = await tlsThrough(proxy.port, `localhost:${origin.port}`, { ca: originCa.caPem, servername: 'localhost' });
    expect(tls.getPeerCertificate().issuer.CN).toBe('kaizen-proxy test CA');
    tls.destroy();
  });
});

const allowDecision: Decision = { decision: 'allow', enforce: 'forward', reason: 'test', evidence: [], source: 'local', verdictId: null, flagged: false, wouldBlock: false };
const blockDecision: Decision = { ...allowDecision, decision: 'block', enforce: 'refuse', reason: 'refunds are not for agents' };
