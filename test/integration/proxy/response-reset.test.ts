import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createUpstreamConnector } from '../../../src/app/upstream-setup.js';
import { parseUpstreamProxyUrl } from '../../../src/net/upstream-proxy.js';
import { createLogger } from '../../../src/observe/logger.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { howItEnds } from '../../helpers/socket-end.js';
import { CapturedLogs, startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { watchChild } from '../../helpers/watched-child.js';
import { startResettableTlsOrigin, type ResettableTlsOrigin } from './resettable-tls-origin.js';

/**
 * A response whose head went out and whose destination then resets mid-body is cut short: the
 * client's connection is closed with a reset, not a FIN. A response without a length (no
 * Content-Length, not chunked: what an HTTP/1.0 client gets) ends where the connection ends, so a
 * FIN would hand the client part of the body as all of it. Tunnels: tunnel-reset.test.ts.
 */
const toClose: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

const PART = 'part of the body';

/** A raw origin (or upstream proxy) answering 200 without a length, PART first; the rest never comes. */
async function partialOrigin(): Promise<{ readonly origin: HeadOrigin; readonly answering: Promise<Socket> }> {
  let answered: (socket: Socket) => void = () => undefined;
  const answering = new Promise<Socket>((resolve) => {
    answered = resolve;
  });
  const origin = await headOrigin((socket) => {
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n${PART}`);
    answered(socket);
  });
  toClose.push(() => origin.close());
  return { origin, answering };
}

async function proxyForTest(options: Parameters<typeof startProxy>[0] = {}): Promise<StartedProxy> {
  const proxy = await startProxy(options);
  toClose.push(() => proxy.close());
  return proxy;
}

/** A proxy whose requests go through the upstream proxy on 127.0.0.1:`port` (upstream_proxy). */
async function proxyThroughUpstream(port: number): Promise<StartedProxy> {
  const via = parseUpstreamProxyUrl(`http://127.0.0.1:${String(port)}`);
  if (typeof via === 'string') throw new Error(via);
  const connector = createUpstreamConnector(
    { upstreamProxy: { source: 'config', https: via, http: via, noProxy: [], ignored: [] } },
    createLogger({ level: 'info', destination: new CapturedLogs() }),
  );
  return proxyForTest({ connector });
}

/** python3 on a raw socket: an HTTP/1.0 request, prints `got` once PART is in, then how the connection ended. */
const PYTHON_CLIENT = `import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
s.sendall(('GET %s HTTP/1.0\\r\\n\\r\\n' % sys.argv[2]).encode())
got = b''
told = False
outcome = 'end'
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
        if not told and b'${PART}' in got:
            told = True
            print('got', flush=True)
except ConnectionResetError:
    outcome = 'reset'
print(outcome, flush=True)
`;

describe('a close-delimited response cut short by its destination', () => {
  it('curl -0: the destination resets mid-body, curl reports the reset instead of a complete 200', async () => {
    const { origin, answering } = await partialOrigin();
    const proxy = await proxyForTest();
    const curl = watchChild('curl', ['-sS', '-0', '-N', '--noproxy', '', '-x', proxy.url, `http://127.0.0.1:${String(origin.port)}/download`]);
    await curl.waitForStdout(PART);
    (await answering).resetAndDestroy();
    const run = await curl.exited;
    // 56: "Recv failure: Connection reset by peer". A FIN made it exit 0, the partial body complete.
    expect(run.code, run.stderr).toBe(56);
    expect(run.stdout).toBe(PART);
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === `127.0.0.1:${String(origin.port)}`);
    expect(closed).toMatchObject({ kind: 'http', status: 200 });
  });

  it('a declined WebSocket upgrade: the destination answers 200 without a length and resets mid-body, the client reads a reset', async () => {
    const { origin, answering } = await partialOrigin();
    const proxy = await proxyForTest();
    const client = await RawClient.open(proxy.port);
    const ends = howItEnds(client.socket);
    const authority = `127.0.0.1:${String(origin.port)}`;
    client.write(
      `GET http://${authority}/ws HTTP/1.1\r\nHost: ${authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    expect(await client.readUntil(PART)).toMatch(/^HTTP\/1\.1 200 /);
    (await answering).resetAndDestroy();
    // A FIN would end the body where the connection ends: the partial answer read as all of it.
    expect(await ends).toBe('ECONNRESET');
  });

  it('a declined WebSocket upgrade still relaying a close-delimited 401 at the drain deadline: the client reads a reset, the exchange logs KZP_ERR_SHUTDOWN', async () => {
    // The body drips on past the deadline and never ends by itself.
    const origin = await headOrigin((socket) => {
      socket.write(`HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\n\r\n${PART}`);
      const drip = setInterval(() => socket.write('.'), 20);
      socket.once('close', () => {
        clearInterval(drip);
      });
    });
    toClose.push(() => origin.close());
    const proxy = await proxyForTest({ limits: { drainTimeoutMs: 300 } });
    const client = await RawClient.open(proxy.port);
    const ends = howItEnds(client.socket);
    const authority = `127.0.0.1:${String(origin.port)}`;
    client.write(
      `GET http://${authority}/ws HTTP/1.1\r\nHost: ${authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    expect(await client.readUntil(PART)).toMatch(/^HTTP\/1\.1 401 /);
    await proxy.server.close();
    // A FIN would end the close-delimited body there: what was relayed read as all of it.
    expect(await ends).toBe('ECONNRESET');
    expect(proxy.logs.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'deadline', in_flight_cut: 1 }));
    expect(proxy.logs.lines.filter((line) => line.msg === 'closed')).toEqual([expect.objectContaining({ kind: 'upgrade', status: 401, code: 'KZP_ERR_SHUTDOWN' })]);
  });

  it('python3 through a configured upstream proxy: the upstream resets mid-body, the client reads a reset', async () => {
    const { origin: upstream, answering } = await partialOrigin();
    const proxy = await proxyThroughUpstream(upstream.port);
    const python = watchChild('python3', ['-c', PYTHON_CLIENT, String(proxy.port), 'http://127.0.0.1:9/download']);
    await python.waitForStdout('got\n');
    (await answering).resetAndDestroy();
    const run = await python.exited;
    expect(run.stdout, run.stderr).toBe('got\nreset\n');
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === '127.0.0.1:9');
    expect(closed).toMatchObject({ kind: 'http', status: 200, code: 'KZP_ERR_UPSTREAM_CONNECT' });
  });

  it('through a configured upstream proxy: an answer closed short of its Content-Length is logged cut, with its code', async () => {
    const upstream = await headOrigin((socket) => {
      socket.end(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${PART}`);
    });
    toClose.push(() => upstream.close());
    const proxy = await proxyThroughUpstream(upstream.port);
    const curl = watchChild('curl', ['-sS', '--noproxy', '', '-x', proxy.url, 'http://127.0.0.1:9/short']);
    const run = await curl.exited;
    expect(run.code, run.stderr).not.toBe(0);
    expect(run.stdout).toBe(PART);
    // The audit line says the answer was cut, not a plain 200: a broken answer, as on the direct path.
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === '127.0.0.1:9');
    expect(closed).toMatchObject({ kind: 'http', status: 200, code: 'KZP_ERR_UPSTREAM_PROTOCOL' });
  });

});

/** An intercepted session (Node tls) whose HTTP/1.0 request is answered PART and held there: how the session ends. */
async function interceptedPartial(limits: Parameters<typeof startResettableTlsOrigin>[1]): Promise<{
  readonly origin: ResettableTlsOrigin;
  readonly answering: Socket;
  readonly ends: Promise<string>;
  readonly text: () => string;
}> {
  let answered: (socket: Socket) => void = () => undefined;
  const answering = new Promise<Socket>((resolve) => {
    answered = resolve;
  });
  const origin = await startResettableTlsOrigin(
    {
      request: (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write(PART);
        answered(req.socket);
      },
    },
    limits,
  );
  toClose.push(() => origin.close());
  const tls = await origin.session();
  const ends = howItEnds(tls);
  let text = '';
  let gotPart: () => void = () => undefined;
  const partIn = new Promise<void>((resolve) => {
    gotPart = resolve;
  });
  tls.on('data', (chunk: Buffer) => {
    text += chunk.toString('latin1');
    if (text.endsWith(PART)) gotPart();
  });
  tls.write(`GET /download HTTP/1.0\r\nHost: ${origin.target}\r\n\r\n`);
  await partIn;
  // No length: the connection's end is the body's.
  expect(text).toMatch(new RegExp(`^HTTP/1\\.1 200 [^]*\r\n\r\n${PART}$`));
  expect(text).not.toMatch(/content-length|transfer-encoding/i);
  return { origin, answering: await answering, ends, text: () => text };
}

describe('a close-delimited response cut short inside an intercepted session', () => {
  it('the destination resets mid-body: the client (Node tls) reads a reset', async () => {
    const { origin, answering, ends, text } = await interceptedPartial({});
    origin.resetUnder(answering);
    // Destroyed, the session's TLS socket would end with a FIN, which a Node client reads as 'end'.
    expect(await ends).toBe('ECONNRESET');
    expect(text()).toMatch(new RegExp(`${PART}$`));
  });

  it('in flight at the drain deadline: the client (Node tls) reads a reset', async () => {
    const { origin, ends } = await interceptedPartial({ drainTimeoutMs: 200 });
    await origin.proxy.server.close();
    expect(await ends).toBe('ECONNRESET');
    expect(origin.proxy.logs.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'deadline', in_flight_cut: 1 }));
  });
});
