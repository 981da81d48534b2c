import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { createUpstreamConnector } from '../../../src/app/upstream-setup.js';
import { loadConfig } from '../../../src/config/load.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { createConnector } from '../../../src/net/connector.js';
import { parseUpstreamProxyUrl, type UpstreamProxy, type UpstreamProxySettings } from '../../../src/net/upstream-proxy.js';
import { createLogger } from '../../../src/observe/logger.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startSquid, type Squid, type SquidLogLine } from '../../helpers/squid.js';
import { CapturedLogs, startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { tempDir, writeFile } from '../reflex/cli-process.js';
import { OPEN_LOOPBACK, runWrapper } from '../wrap/run-wrapper.js';
import { startWrapOrigin } from '../wrap/wrap-origin.js';

/**
 * kaizen-proxy chained to a real Squid with Basic auth: allowed tunnels, plain requests, https://
 * requests the proxy originates (the path intercepted hosts take) and control-plane calls all show
 * in Squid's access log under our user; blocked actions never reach it; failures at the upstream
 * are 502 KZP_ERR_UPSTREAM_PROXY, never a block; its password never reaches a log.
 */
const run = promisify(execFile);
let squid: Squid;
let origin: Origin;
let direct: Origin;
let tlsOrigin: Origin;
let ca: TestCa;
let cp: FakeControlPlane;
let proxy: KaizenProxy;
let logs: CapturedLogs;
let proxyUrl: string;

beforeAll(async () => {
  [squid, origin, direct, cp, ca] = await Promise.all([startSquid(), startOrigin(), startOrigin(), startFakeControlPlane(), createTestCa()]);
  tlsOrigin = await startOrigin({ tls: ca });
  cp.respondWith(reply.recorded());
  const dir = tempDir();
  const file = writeFile(
    dir,
    'kaizen-proxy.yaml',
    [
      'admin: off',
      `data_dir: ${dir}/data`,
      `upstream_proxy: ${squid.url}`,
      `upstream_no_proxy: ["127.0.0.1:${direct.port}"]`,
      'network: { allow_private: [127.0.0.0/8, "::1"] }',
      `control_plane: { url: "${cp.url}", timeout: 5s }`,
      'policies:',
      '  - name: no-localhost-names',
      '    mode: blocklist',
      '    rules: { domains: [localhost] }',
    ].join('\n'),
  );
  const loaded = loadConfig({ env: { KAIZEN_API_KEY: 'kz_test_upstream' }, flags: { config: file, listen: '127.0.0.1:0' } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  logs = new CapturedLogs();
  proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'debug', destination: logs }) });
  proxyUrl = `http://127.0.0.1:${proxy.address.port}`;
});

afterAll(async () => {
  await proxy.close();
  await Promise.all([squid.stop(), origin.close(), direct.close(), tlsOrigin.close(), cp.close(), ca.remove()]);
});

async function curl(...args: string[]): Promise<{ status: string; headers: string; body: string }> {
  const { stdout } = await run('curl', ['-sS', '--noproxy', '', '-x', proxyUrl, '-D', '-', '-w', '\n%{http_code}', ...args]);
  const lines = stdout.split('\n');
  const status = lines.pop() ?? '';
  const text = lines.join('\n');
  const cut = text.lastIndexOf('\r\n\r\n');
  return { status, headers: text.slice(0, cut), body: text.slice(cut + 4) };
}

describe('upstream_proxy: a real Squid with Basic auth', () => {
  it('a CONNECT tunnel leaves through Squid as CONNECT, authenticated as our user', async () => {
    const answer = await curl('-p', `http://127.0.0.1:${origin.port}/tunnelled`);
    expect(answer.status).toBe('200');
    const line = await squid.waitForLog((l) => l.method === 'CONNECT' && l.url === `127.0.0.1:${origin.port}`);
    expect(line.result).toBe('TCP_TUNNEL/200');
    expect(line.user).toBe(squid.user);
  });

  it('a plain request leaves absolute-form with Proxy-Authorization; the origin never sees the credentials', async () => {
    const answer = await curl(`http://127.0.0.1:${origin.port}/plain?q=1`);
    expect(answer.status).toBe('200');
    const line = await squid.waitForLog((l) => l.method === 'GET' && l.url === `http://127.0.0.1:${origin.port}/plain?q=1`);
    expect(line.user).toBe(squid.user);
    const seen = origin.requests.find((r) => r.url === '/plain?q=1');
    expect(seen?.headers['proxy-authorization']).toBeUndefined();
    expect(seen?.headers.host).toBe(`127.0.0.1:${origin.port}`);
  });

  it('blocked actions never reach Squid: 403 from the proxy, no Squid line', async () => {
    const tunnel = await curl('-p', `http://localhost:${origin.port}/blocked`).catch((error: unknown) => ({ status: String(error), headers: '', body: '' }));
    const plain = await curl(`http://localhost:${origin.port}/blocked`);
    expect(plain.status).toBe('403');
    expect(plain.headers).toMatch(/X-Kaizen-Decision: block/i);
    expect(tunnel.status).not.toBe('200');
    expect(squid.log().filter((l) => l.url.includes('localhost'))).toEqual([]);
  });

  it('a request whose Connection names its Content-Length is refused 400: the request in its body never reaches Squid', async () => {
    // Without its Content-Length the body would follow the DELETE raw on the keep-alive connection
    // to Squid, which would read it as its next request and fetch a destination the policy blocks.
    const hidden = `GET http://localhost:${origin.port}/smuggled HTTP/1.1\r\nHost: localhost:${origin.port}\r\n\r\n`;
    const client = await RawClient.open(proxy.address.port);
    client.write(`DELETE http://127.0.0.1:${origin.port}/harmless HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Content-Length\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`);
    const answer = await client.readResponse();
    client.destroy();
    expect(answer.status).toBe(400);
    expect(answer.headers['x-kaizen-error']).toBe('KZP_ERR_BAD_REQUEST');
    expect(origin.requests.filter((r) => r.url === '/harmless' || r.url === '/smuggled')).toEqual([]);
    expect(squid.log().filter((l) => l.url.includes('/harmless') || l.url.includes('localhost'))).toEqual([]);
  });

  it('upstream_no_proxy sends a destination direct: no Squid line', async () => {
    const answer = await curl(`http://127.0.0.1:${direct.port}/direct`);
    expect(answer.status).toBe('200');
    expect(direct.requests.some((r) => r.url === '/direct')).toBe(true);
    expect(squid.log().filter((l) => l.url.includes(`:${direct.port}`))).toEqual([]);
  });

  it('upstream_no_proxy sends a CONNECT tunnel direct too: no Squid line', async () => {
    const answer = await curl('-p', `http://127.0.0.1:${direct.port}/tunnelled-direct`);
    expect(answer.status).toBe('200');
    expect(direct.requests.some((r) => r.url === '/tunnelled-direct')).toBe(true);
    expect(squid.log().filter((l) => l.url.includes(`:${direct.port}`))).toEqual([]);
  });

  it('control-plane calls go through Squid too (undici ProxyAgent); last, as it stops the proxy', async () => {
    await curl(`http://127.0.0.1:${origin.port}/reported`);
    await cp.waitForRequests(1);
    // Squid logs a tunnel when it closes, and the client keeps it alive: stopping the proxy closes it.
    await proxy.close();
    const line = await squid.waitForLog((l) => l.method === 'CONNECT' && l.url === `127.0.0.1:${new URL(cp.url).port}`);
    expect(line.user).toBe(squid.user);
    expect(cp.requests[0]?.headers.authorization).toBe('Bearer kz_test_upstream');
  });

  it("the upstream's password never appears in a log line", () => {
    expect(logs.text).not.toContain(squid.password);
    expect(logs.lines.some((l) => l.msg === 'allowed traffic leaves through the upstream proxy' && l['tunnels'] === squid.bareUrl)).toBe(true);
  });
});

describe('the transport through Squid (createProxyServer with a connector)', () => {
  const settings = (proxy: UpstreamProxy): UpstreamProxySettings => ({ source: 'config', https: proxy, http: proxy, noProxy: [], ignored: [] });
  const upstream = (url: string): UpstreamProxy => {
    const parsed = parseUpstreamProxyUrl(url);
    if (typeof parsed === 'string') throw new Error(parsed);
    return parsed;
  };
  let started: StartedProxy | undefined;

  async function via(url: string): Promise<StartedProxy> {
    await started?.close();
    started = await startProxy({ connector: createConnector({ upstream: settings(upstream(url)) }), upstreamCa: [ca.caPem] });
    return started;
  }

  afterAll(async () => {
    await started?.close();
  });

  it('an https:// request the proxy originates (as for intercepted hosts) is CONNECT through Squid, then verified TLS', async () => {
    const through = await via(squid.url);
    const answer = await absoluteForm(through.port, `https://localhost:${tlsOrigin.port}/originated`);
    expect(answer.status).toBe(200);
    expect(tlsOrigin.requests.some((r) => r.url === '/originated')).toBe(true);
    // Squid logs the tunnel when it closes; the pool keeps it alive until the proxy stops.
    await through.close();
    started = undefined;
    const line = await squid.waitForLog((l) => l.method === 'CONNECT' && l.url === `localhost:${tlsOrigin.port}`);
    expect(line.user).toBe(squid.user);
  });

  it('an intercepted host: each decrypted request leaves through Squid as CONNECT, then TLS to the CONNECT target', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kzp-upstream-intercept-'));
    try {
      const interceptCa = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy test interception CA', days: 2, force: false });
      await started?.close();
      started = await startProxy({
        connector: createConnector({ upstream: settings(upstream(squid.url)) }),
        upstreamCa: [ca.caPem],
        interceptor: createInterceptor({ ca: interceptCa, intercepts: interceptedHosts(['localhost']) }),
      });
      const tunnels = (): SquidLogLine[] => squid.log().filter((l) => l.method === 'CONNECT' && l.url === `localhost:${tlsOrigin.port}`);
      const before = tunnels().length;
      const { stdout } = await run('curl', ['-sS', '--fail', '--noproxy', '', '--cacert', interceptCa.certFile, '-x', started.url, `https://localhost:${tlsOrigin.port}/intercepted`]);
      expect(JSON.parse(stdout)).toMatchObject({ method: 'GET', url: '/intercepted' });
      // The client's CONNECT was terminated here; what reached Squid is the proxy's own CONNECT for the request.
      await started.close();
      started = undefined;
      await squid.waitForLog(() => tunnels().length > before);
      expect(tunnels().slice(before).every((l) => l.user === squid.user && l.result === 'TCP_TUNNEL/200')).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('wrong credentials: 502 KZP_ERR_UPSTREAM_PROXY for tunnels and plain requests, never a block', async () => {
    const through = await via(`http://${squid.user}:wrong@127.0.0.1:${squid.port}`);
    const plain = await absoluteForm(through.port, `http://127.0.0.1:${origin.port}/badauth`);
    expect(plain.status).toBe(502);
    expect(plain.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_PROXY');
    expect(plain.headers['x-kaizen-decision']).toBeUndefined();
    expect(plain.headers['proxy-authenticate']).toBeUndefined();
    const tunnel = await rawConnect(through.port, `127.0.0.1:${origin.port}`);
    expect(tunnel).toMatch(/^HTTP\/1\.1 502 /);
    expect(tunnel).toMatch(/X-Kaizen-Error: KZP_ERR_UPSTREAM_PROXY/);
    expect(through.logs.text).not.toContain('wrong@');
  });

  it('wrong credentials on an https:// request the proxy sends: one line says Squid answered 407', async () => {
    const logs = new CapturedLogs();
    const bad = upstream(`http://${squid.user}:not-the-password@127.0.0.1:${squid.port}`);
    await started?.close();
    started = await startProxy({ connector: createUpstreamConnector({ upstreamProxy: settings(bad) }, createLogger({ level: 'info', destination: logs })), upstreamCa: [ca.caPem] });
    const answer = await absoluteForm(started.port, `https://localhost:${tlsOrigin.port}/badauth-tls`);
    expect(answer.status).toBe(502);
    expect(answer.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_PROXY');
    // Reported before the agent fails the request, so before the 502.
    const line = logs.lines.find((l) => l['component'] === 'upstream_proxy' && l['code'] === 'KZP_ERR_UPSTREAM_PROXY');
    expect(line).toMatchObject({ upstream_proxy: squid.bareUrl, target: `localhost:${tlsOrigin.port}`, detail: 'status 407' });
    expect(logs.text).not.toContain('not-the-password');
  });

  it('an upstream that is down: 502 KZP_ERR_UPSTREAM_PROXY', async () => {
    const dead = await startOrigin();
    const port = dead.port;
    await dead.close();
    const through = await via(`http://127.0.0.1:${port}`);
    const plain = await absoluteForm(through.port, `http://127.0.0.1:${origin.port}/down`);
    expect(plain.status).toBe(502);
    expect(plain.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_PROXY');
    expect(await rawConnect(through.port, `127.0.0.1:${origin.port}`)).toMatch(/X-Kaizen-Error: KZP_ERR_UPSTREAM_PROXY/);
  });
});

describe('wrap mode with upstream_proxy: env', () => {
  it("chains to the wrapper's own HTTPS_PROXY, never to the proxy it hands the child (no loop)", async () => {
    const target = await startWrapOrigin();
    try {
      const config = writeFile(tempDir(), 'env.yaml', 'upstream_proxy: env\n');
      const run = await runWrapper(['--config', config, ...OPEN_LOOPBACK, '--', 'curl', '-sS', '-p', '-o', '/dev/null', '-w', '%{http_code}', `${target.url}/hello`], {
        env: { HTTPS_PROXY: squid.url, HTTP_PROXY: squid.url },
      });
      expect(run.stdout).toBe('200');
      expect(run.code).toBe(0);
      const line = await squid.waitForLog((l) => l.method === 'CONNECT' && l.url === target.target);
      expect(line.user).toBe(squid.user);
    } finally {
      await target.close();
    }
  });
});

function absoluteForm(port: number, url: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'GET', path: url, headers: { host: new URL(url).host }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw CONNECT; resolves with whatever the proxy answers before closing (or the first 2 s). */
async function rawConnect(port: number, authority: string): Promise<string> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    const timer = setTimeout(() => {
      socket.destroy();
    }, 2000);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}
