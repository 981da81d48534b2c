import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { spawnProxy, type ProxyProcess } from './proxy-process.js';
import { scrapePort } from './resilience-support.js';

/**
 * A proxy process under `prlimit --nofile=N:N` (a descriptor limit far below what the default
 * max_connections: 10000 needs): running out of descriptors is the proxy's own limit, answered
 * 503 KZP_ERR_LIMIT_CONNECTIONS with Retry-After where an answer can still be written and logged,
 * never a destination failure (502); idle admin connections cannot take the descriptors the proxy
 * port needs; the start warns that max_connections cannot be reached.
 */
const NOFILE = 160;
const YAML = ['listen: 127.0.0.1:0', 'admin: 127.0.0.1:0', 'network: { allow_private: [127.0.0.0/8] }'].join('\n');

let echo: Server;
let echoPort: number;
let origin: Origin;
const originSockets = new Set<Socket>();
const originClosed = new Set<() => void>();
let proxy: ProxyProcess | null = null;
const held: Socket[] = [];

beforeAll(async () => {
  echo = createServer((socket) => {
    originSockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      originSockets.delete(socket);
      for (const wake of originClosed) wake();
    });
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen({ port: 0, host: '127.0.0.1', backlog: 1024 }, resolve));
  echoPort = (echo.address() as AddressInfo).port;
  origin = await startOrigin();
});

afterEach(async () => {
  for (const socket of held.splice(0)) socket.destroy();
  await proxy?.stop();
  proxy = null;
});

afterAll(async () => {
  for (const socket of originSockets) socket.destroy();
  await new Promise<void>((resolve) => echo.close(() => {
    resolve();
  }));
  await origin.close();
});

type Outcome = { readonly kind: 'answer'; readonly head: string; readonly socket: Socket } | { readonly kind: 'closed' };

/** Writes `request` on a new connection to `port`; the head of the answer, or `closed` when the connection ended without one. */
function exchange(port: number, request: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setEncoding('latin1');
    let text = '';
    const onData = (chunk: string): void => {
      text += chunk;
      if (!text.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ kind: 'answer', head: text.slice(0, text.indexOf('\r\n\r\n')), socket });
    };
    const onClose = (): void => {
      resolve({ kind: 'closed' });
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(request));
  });
}

function connectRequest(): string {
  return `CONNECT 127.0.0.1:${echoPort} HTTP/1.1\r\nHost: 127.0.0.1:${echoPort}\r\n\r\n`;
}

/** Resolves once the echo origin holds `count` connections or fewer (the proxy closed its side). */
function originHolds(count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (originSockets.size > count) return;
      originClosed.delete(check);
      resolve();
    };
    originClosed.add(check);
    check();
  });
}

/** A connection that has connected and sends nothing. */
function idleConnection(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function statusLine(head: string): string {
  return head.split('\r\n')[0] ?? '';
}

/**
 * Opens tunnels one after another until the proxy cannot open one more; returns the first answer
 * that is not a 200. An accept that finds no descriptor left can only be closed (libuv's reserve
 * descriptor): then one tunnel is given back and an idle connection takes one descriptor, so the
 * next CONNECT is accepted with one descriptor left and its dial is the one that fails.
 */
async function exhaustWithTunnels(running: ProxyProcess): Promise<{ readonly refused: string; readonly statuses: readonly string[] }> {
  const statuses: string[] = [];
  for (let attempt = 0; attempt < NOFILE; attempt++) {
    const outcome = await exchange(running.port, connectRequest());
    if (outcome.kind === 'answer' && outcome.head.startsWith('HTTP/1.1 200')) {
      held.push(outcome.socket);
      continue;
    }
    if (outcome.kind === 'answer') {
      statuses.push(statusLine(outcome.head));
      return { refused: outcome.head, statuses };
    }
    statuses.push('closed');
    const last = held.pop();
    if (last === undefined) throw new Error('no tunnel opened before the proxy ran out of descriptors');
    const before = originSockets.size;
    last.destroy();
    await originHolds(before - 1);
    held.push(await idleConnection(running.port));
  }
  throw new Error(`still opening tunnels after ${NOFILE} attempts`);
}

describe(`a proxy under prlimit --nofile=${NOFILE}:${NOFILE}`, () => {
  it('warns at start that max_connections needs more descriptors than the limit allows', async () => {
    proxy = await spawnProxy({ yaml: YAML, nofile: NOFILE });
    const warning = await proxy.waitFor((line) => line['max_connections'] === 10_000 && line['open_files_limit'] === NOFILE);
    expect(warning['level']).toBe('warn');
    expect(Number(warning['descriptors_needed'])).toBeGreaterThan(NOFILE);
  });

  it('answers a CONNECT whose dial finds no descriptor 503 KZP_ERR_LIMIT_CONNECTIONS with Retry-After, and logs it', async () => {
    proxy = await spawnProxy({ yaml: YAML, nofile: NOFILE });
    const { refused, statuses } = await exhaustWithTunnels(proxy);
    expect(statusLine(refused)).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toContain('X-Kaizen-Error: KZP_ERR_LIMIT_CONNECTIONS');
    expect(refused).toMatch(/\r\nRetry-After: \d+/);
    expect(statuses.filter((status) => status.includes(' 502 '))).toEqual([]);
    const line = await proxy.waitFor((entry) => entry['msg'] === 'refused' && entry['reason'] === 'EMFILE');
    expect(line['code']).toBe('KZP_ERR_LIMIT_CONNECTIONS');
    expect(line['status']).toBe(503);
    expect(line['syscall']).toBe('connect');

    // A plain request dialled with one descriptor left: the same answer, from the origin pools.
    const get = await exchange(proxy.port, `GET ${origin.url}/plain HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: close\r\n\r\n`);
    if (get.kind === 'answer') get.socket.destroy();
    expect(get.kind === 'answer' ? statusLine(get.head) : 'closed').toMatch(/^HTTP\/1\.1 503 /);
    expect(get.kind === 'answer' ? get.head : '').toContain('X-Kaizen-Error: KZP_ERR_LIMIT_CONNECTIONS');
    expect(proxy.child.exitCode).toBeNull();
  }, 60_000);

  it('counts every refusal for want of descriptors in kaizen_proxy_limit_refusals_total{limit="descriptors"}', async () => {
    proxy = await spawnProxy({ yaml: YAML, nofile: NOFILE });
    const adminPort = proxy.adminPort;
    if (adminPort === null) throw new Error('admin listener expected');
    const { refused } = await exhaustWithTunnels(proxy);
    expect(statusLine(refused)).toMatch(/^HTTP\/1\.1 503 /);
    await proxy.waitFor((entry) => entry['msg'] === 'refused' && entry['reason'] === 'EMFILE' && entry['syscall'] === 'connect');
    // A second dial refused within the 10 s of the first (the origin pools'): its line is held back, not its count.
    const get = await exchange(proxy.port, `GET ${origin.url}/plain HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: close\r\n\r\n`);
    if (get.kind === 'answer') get.socket.destroy();
    expect(get.kind === 'answer' ? statusLine(get.head) : 'closed').toMatch(/^HTTP\/1\.1 503 /);
    // The scrape needs descriptors of its own: the tunnels give theirs back first.
    for (const socket of held.splice(0)) socket.destroy();
    await originHolds(0);
    const metrics = await scrapePort(adminPort);
    // Both dials answered 503, plus any accept the listener reported failing (closed unanswered).
    expect(metrics.get('kaizen_proxy_limit_refusals_total{limit="descriptors"}') ?? 0).toBeGreaterThanOrEqual(2);
    expect(metrics.get('kaizen_proxy_limit_refusals_total{limit="max_connections"}') ?? 0).toBe(0);
  }, 60_000);

  it('caps the admin port: idle admin connections cannot take the descriptors of the proxy port', async () => {
    proxy = await spawnProxy({ yaml: YAML, nofile: NOFILE });
    const adminPort = proxy.adminPort;
    if (adminPort === null) throw new Error('admin listener expected');
    // As many idle admin connections as the process has descriptors at all.
    for (let i = 0; i < NOFILE; i++) held.push(await idleConnection(adminPort));
    const tunnel = await exchange(proxy.port, connectRequest());
    if (tunnel.kind === 'answer') held.push(tunnel.socket);
    expect(tunnel.kind === 'answer' ? statusLine(tunnel.head) : 'closed').toBe('HTTP/1.1 200 Connection established');
  }, 60_000);

  it('closes an idle admin connection within a few seconds', async () => {
    proxy = await spawnProxy({ yaml: YAML, nofile: NOFILE });
    const adminPort = proxy.adminPort;
    if (adminPort === null) throw new Error('admin listener expected');
    const idle = await idleConnection(adminPort);
    held.push(idle);
    const started = performance.now();
    await new Promise((resolve) => idle.once('close', resolve));
    expect(performance.now() - started).toBeLessThan(8_000);
  }, 30_000);
});
