import { request as httpRequest } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createUpstreamConnector } from '../../../src/app/upstream-setup.js';
import { parseUpstreamProxyUrl, type UpstreamProxy, type UpstreamProxySettings } from '../../../src/net/upstream-proxy.js';
import { createLogger } from '../../../src/observe/logger.js';
import { CapturedLogs, startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * Upstream proxies that misbehave in ways Squid does not: one that closes its side of the
 * connection without answering CONNECT, one that records the Proxy-Authorization it is sent, one
 * whose destinations are all down, one that refuses every request's credentials.
 * The proxy under test logs through the app's own connector (createUpstreamConnector), so the
 * failure lines asserted here are the ones an operator reads.
 */

/** What a fake upstream read: the request line and the Proxy-Authorization of each head. */
interface SeenHead {
  readonly line: string;
  readonly authorization: string | undefined;
}

interface FakeUpstream {
  readonly port: number;
  readonly heads: readonly SeenHead[];
  close(): Promise<void>;
}

/**
 * A raw TCP upstream on loopback. `silent`: reads the head, then ends its side without a byte.
 * `recording`: answers a plain request 200 and a CONNECT 407. `down`: answers a CONNECT 503 (the
 * destination cannot be reached from there). `refusing`: answers everything 407. It closes after each.
 */
async function startFakeUpstream(mode: 'silent' | 'recording' | 'down' | 'refusing'): Promise<FakeUpstream> {
  const heads: SeenHead[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const lines = text.slice(0, end).split('\r\n');
      const auth = lines.find((l) => l.toLowerCase().startsWith('proxy-authorization:'));
      const line = lines[0] ?? '';
      heads.push({ line, authorization: auth?.slice(auth.indexOf(':') + 1).trim() });
      const proxyAuth = 'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n';
      if (mode === 'silent') socket.end();
      else if (mode === 'down') socket.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n');
      else if (mode === 'refusing') socket.end(proxyAuth);
      else if (line.startsWith('CONNECT ')) socket.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\nContent-Length: 0\r\n\r\n');
      else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    heads,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => { resolve(); });
      }),
  };
}

function upstream(url: string): UpstreamProxy {
  const parsed = parseUpstreamProxyUrl(url);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

function settings(https: UpstreamProxy, http: UpstreamProxy): UpstreamProxySettings {
  return { source: 'config', https, http, noProxy: [], ignored: [] };
}

let fake: FakeUpstream | undefined;
let started: StartedProxy | undefined;
let logs: CapturedLogs;

afterEach(async () => {
  await started?.close();
  await fake?.close();
  started = undefined;
  fake = undefined;
});

/** The proxy under test, chained through `upstreamProxy` with the app's logging connector (its rate limit on `now`). */
async function through(upstreamProxy: UpstreamProxySettings, connectTimeoutMs = 2_000, now?: () => number): Promise<StartedProxy> {
  logs = new CapturedLogs();
  const connector = createUpstreamConnector({ upstreamProxy }, createLogger({ level: 'info', destination: logs }), now === undefined ? {} : { now });
  started = await startProxy({ connector, network: { connectTimeoutMs } });
  return started;
}

/** Whichever comes first: `work`, or 'guard' after `ms`. */
async function within<T>(ms: number, work: Promise<T>): Promise<T | 'guard'> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<'guard'>((resolve) => {
    timer = setTimeout(() => { resolve('guard'); }, ms);
  });
  try {
    return await Promise.race([work, guard]);
  } finally {
    clearTimeout(timer);
  }
}

describe('an upstream that closes without answering CONNECT', () => {
  const PASSWORD = 'fault-test-secret';

  it('a CONNECT tunnel: 502 KZP_ERR_UPSTREAM_PROXY at once (well inside connect_timeout), logged as closed', async () => {
    fake = await startFakeUpstream('silent');
    const proxy = upstream(`http://u:${PASSWORD}@127.0.0.1:${fake.port}`);
    const { port } = await through(settings(proxy, proxy), 5_000);
    const answer = await within(2_000, rawConnect(port, '127.0.0.1:9'));
    expect(answer).toMatch(/^HTTP\/1\.1 502 /);
    expect(answer).toMatch(/X-Kaizen-Error: KZP_ERR_UPSTREAM_PROXY/);
    const line = logs.lines.find((l) => l['code'] === 'KZP_ERR_UPSTREAM_PROXY' && l['component'] === 'upstream_proxy');
    expect(line).toMatchObject({ upstream_proxy: `http://127.0.0.1:${fake.port}`, target: '127.0.0.1:9', detail: 'closed' });
    expect(logs.text).not.toContain(PASSWORD);
  });

  it('an https:// request the proxy sends: 502 at once, and one line says the upstream closed', async () => {
    fake = await startFakeUpstream('silent');
    const proxy = upstream(`http://u:${PASSWORD}@127.0.0.1:${fake.port}`);
    const { port } = await through(settings(proxy, proxy), 5_000);
    const answer = await within(2_000, absoluteForm(port, 'https://127.0.0.1:9/originated'));
    expect(answer).toMatchObject({ status: 502, error: 'KZP_ERR_UPSTREAM_PROXY' });
    const line = logs.lines.find((l) => l['code'] === 'KZP_ERR_UPSTREAM_PROXY' && l['component'] === 'upstream_proxy');
    expect(line).toMatchObject({ upstream_proxy: `http://127.0.0.1:${fake.port}`, target: '127.0.0.1:9', detail: 'closed' });
    expect(logs.text).not.toContain(PASSWORD);
  });
});

describe('a plain request whose parent fails', () => {
  const PASSWORD = 'plain-fault-secret';
  const warnings = (): LogLine[] => logs.lines.filter((l) => l['component'] === 'upstream_proxy' && l['code'] === 'KZP_ERR_UPSTREAM_PROXY');

  it('a parent that cannot be reached: 502 KZP_ERR_UPSTREAM_PROXY, and the warning says unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const gone = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => { resolve(); }));
    const proxy = upstream(`http://u:${PASSWORD}@127.0.0.1:${gone}`);
    const { port } = await through(settings(proxy, proxy));
    expect(await absoluteForm(port, 'http://127.0.0.1:9/plain')).toEqual({ status: 502, error: 'KZP_ERR_UPSTREAM_PROXY' });
    expect(warnings()).toEqual([expect.objectContaining({ level: 'warn', upstream_proxy: `http://127.0.0.1:${gone}`, target: '127.0.0.1:9', detail: 'unreachable', suppressed: 0 })]);
    expect(logs.text).not.toContain(PASSWORD);
  });

  it('a parent that closes without answering: 502, and the warning says closed', async () => {
    fake = await startFakeUpstream('silent');
    const proxy = upstream(`http://u:${PASSWORD}@127.0.0.1:${fake.port}`);
    const { port } = await through(settings(proxy, proxy));
    expect(await absoluteForm(port, 'http://127.0.0.1:9/plain')).toEqual({ status: 502, error: 'KZP_ERR_UPSTREAM_PROXY' });
    expect(warnings()).toEqual([expect.objectContaining({ upstream_proxy: `http://127.0.0.1:${fake.port}`, target: '127.0.0.1:9', detail: 'closed' })]);
    expect(warnings()[0]).not.toHaveProperty('status');
  });
});

describe('HTTPS_PROXY and HTTP_PROXY naming one host:port as different users', () => {
  it("an https:// request after a plain one carries HTTPS_PROXY's credentials, not HTTP_PROXY's", async () => {
    fake = await startFakeUpstream('recording');
    const https = upstream(`http://tunnels:tunnel-pass@127.0.0.1:${fake.port}`);
    const http = upstream(`http://plain:plain-pass@127.0.0.1:${fake.port}`);
    const { port } = await through(settings(https, http));
    const plain = await absoluteForm(port, 'http://127.0.0.1:9/plain');
    expect(plain.status).toBe(200);
    const secure = await absoluteForm(port, 'https://127.0.0.1:9/secure');
    expect(secure.status).toBe(502);
    const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    expect(fake.heads).toEqual([
      { line: 'GET http://127.0.0.1:9/plain HTTP/1.1', authorization: basic('plain', 'plain-pass') },
      { line: 'CONNECT 127.0.0.1:9 HTTP/1.1', authorization: basic('tunnels', 'tunnel-pass') },
    ]);
    expect(logs.text).not.toMatch(/plain-pass|tunnel-pass/);
  });
});

describe('upstream failure lines under a flood', () => {
  /** The connector's lines about failures at the upstream (the exchanges' own lines are the proxy's). */
  const failureLines = (): LogLine[] => logs.lines.filter((l) => l['component'] === 'upstream_proxy' && l['code'] === 'KZP_ERR_UPSTREAM_PROXY');
  const exchangeLines = (proxy: StartedProxy, msg: string, target: string): LogLine[] => proxy.logs.lines.filter((l) => l.msg === msg && l['target'] === target);

  it('a destination down: one line per destination per 10 s, the next saying how many were held back; every exchange keeps its decision and closed lines', async () => {
    let clock = 0;
    fake = await startFakeUpstream('down');
    const proxy = upstream(`http://127.0.0.1:${fake.port}`);
    const started = await through(settings(proxy, proxy), 2_000, () => clock);
    for (let i = 0; i < 5; i += 1) expect(await rawConnect(started.port, '127.0.0.1:9')).toMatch(/^HTTP\/1\.1 502 [^]*X-Kaizen-Error: KZP_ERR_UPSTREAM_PROXY/);
    expect(await rawConnect(started.port, '127.0.0.1:7')).toMatch(/^HTTP\/1\.1 502 /);
    expect(failureLines()).toEqual([
      expect.objectContaining({ level: 'warn', upstream_proxy: `http://127.0.0.1:${fake.port}`, target: '127.0.0.1:9', detail: 'status 503', suppressed: 0 }),
      expect.objectContaining({ target: '127.0.0.1:7', suppressed: 0 }),
    ]);
    clock += 9_000;
    await rawConnect(started.port, '127.0.0.1:9');
    expect(failureLines()).toHaveLength(2);
    clock += 1_000;
    await rawConnect(started.port, '127.0.0.1:9');
    expect(failureLines()).toHaveLength(3);
    expect(failureLines()[2]).toMatchObject({ target: '127.0.0.1:9', detail: 'status 503', suppressed: 5 });
    // The audit feed is untouched: one decision and one closed line per exchange.
    expect(exchangeLines(started, 'decision', '127.0.0.1:9')).toHaveLength(7);
    expect(exchangeLines(started, 'closed', '127.0.0.1:9')).toHaveLength(7);
    expect(exchangeLines(started, 'closed', '127.0.0.1:9').every((l) => l['code'] === 'KZP_ERR_UPSTREAM_PROXY')).toBe(true);
  });

  it('credentials refused: one line per upstream, tunnels and plain requests alike, whatever the destination', async () => {
    const PASSWORD = 'refused-secret';
    fake = await startFakeUpstream('refusing');
    const proxy = upstream(`http://u:${PASSWORD}@127.0.0.1:${fake.port}`);
    const started = await through(settings(proxy, proxy), 2_000, () => 0);
    for (const authority of ['127.0.0.1:9', '127.0.0.1:7', '127.0.0.1:13']) expect(await rawConnect(started.port, authority)).toMatch(/^HTTP\/1\.1 502 /);
    for (const url of ['http://127.0.0.1:9/a', 'http://127.0.0.1:7/b']) expect(await absoluteForm(started.port, url)).toMatchObject({ status: 502, error: 'KZP_ERR_UPSTREAM_PROXY' });
    expect(fake.heads).toHaveLength(5);
    const refusals = [...logs.lines, ...started.logs.lines].filter((l) => typeof l.msg === 'string' && l.msg.includes('refused the credentials'));
    expect(refusals).toEqual([expect.objectContaining({ component: 'upstream_proxy', upstream_proxy: `http://127.0.0.1:${fake.port}`, status: 407, suppressed: 0 })]);
    expect(logs.text + started.logs.text).not.toContain(PASSWORD);
  });
});

function absoluteForm(port: number, url: string): Promise<{ status: number; error: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'GET', path: url, headers: { host: new URL(url).host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => {
        const error = res.headers['x-kaizen-error'];
        resolve({ status: res.statusCode ?? 0, error: typeof error === 'string' ? error : undefined });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw CONNECT; resolves with whatever the proxy answers before closing. */
function rawConnect(port: number, authority: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => { resolve(text); });
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  });
}
