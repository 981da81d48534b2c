import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { headOrigin } from '../../helpers/head-origin.js';
import { startTcpOrigin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { howItEnds } from '../../helpers/socket-end.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa } from '../../helpers/test-ca.js';
import { exchange, tlsThrough } from '../intercept/tunnel-client.js';
import { loopbackServers } from './loopback-servers.js';

/**
 * A reset on one side of a spliced tunnel (socket-pipe.ts) reaches the other side as a reset, as
 * Envoy's tcp_proxy carries it: a clean FIN there would pass a stream cut short for a complete one
 * (connection-delimited protocols cannot tell). Half-close and clean ends: tunnel-behaviour.test.ts.
 */
const { listen, opened } = loopbackServers();
const toClose: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

async function proxyForTest(options: Parameters<typeof startProxy>[0] = {}): Promise<StartedProxy> {
  const proxy = await startProxy(options);
  toClose.push(() => proxy.close());
  return proxy;
}

async function connectThrough(proxy: StartedProxy, port: number): Promise<RawClient> {
  const client = await RawClient.open(proxy.port);
  client.write(`CONNECT 127.0.0.1:${String(port)} HTTP/1.1\r\nHost: 127.0.0.1:${String(port)}\r\n\r\n`);
  expect(await client.readUntil('\r\n\r\n')).toBe('HTTP/1.1 200 Connection established\r\n\r\n');
  return client;
}

/** A raw origin handing each accepted socket to the test, in order. */
async function acceptingOrigin(): Promise<{ readonly port: number; readonly accepted: Promise<Socket> }> {
  let accept: (socket: Socket) => void = () => undefined;
  const accepted = new Promise<Socket>((resolve) => {
    accept = resolve;
  });
  const port = await listen((socket) => {
    opened.push(socket);
    accept(socket);
  });
  return { port, accepted };
}

describe('a reset carried across a tunnel', () => {
  it('CONNECT: the destination resets mid-download, the client reads a reset, not a clean end', async () => {
    const origin = await acceptingOrigin();
    const proxy = await proxyForTest();
    const client = await connectThrough(proxy, origin.port);
    const ends = howItEnds(client.socket);
    const upstream = await origin.accepted;
    upstream.write('part of the answer');
    expect(await client.readBytes('part of the answer'.length)).toBe('part of the answer');
    upstream.resetAndDestroy();
    expect(await ends).toBe('ECONNRESET');
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === `127.0.0.1:${String(origin.port)}`);
    expect(closed).toMatchObject({ kind: 'connect', status: 200, bytes_down: 'part of the answer'.length });
  });

  it('CONNECT: the client resets mid-upload, the destination reads a reset, not a clean end', async () => {
    const origin = await acceptingOrigin();
    const proxy = await proxyForTest();
    const client = await connectThrough(proxy, origin.port);
    const upstream = await origin.accepted;
    const ends = howItEnds(upstream);
    client.write('part of the upload');
    const [first] = (await once(upstream, 'data')) as [Buffer];
    expect(first.toString('latin1')).toBe('part of the upload');
    client.socket.resetAndDestroy();
    expect(await ends).toBe('ECONNRESET');
  });

  it('WebSocket upgrade: the destination resets after its 101, the client reads a reset', async () => {
    let upgraded: (socket: Socket) => void = () => undefined;
    const accepted = new Promise<Socket>((resolve) => {
      upgraded = resolve;
    });
    const origin = await headOrigin((socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframe-1');
      upgraded(socket);
    });
    toClose.push(() => origin.close());
    const proxy = await proxyForTest();
    const client = await RawClient.open(proxy.port);
    const ends = howItEnds(client.socket);
    const authority = `127.0.0.1:${String(origin.port)}`;
    client.write(`GET http://${authority}/socket HTTP/1.1\r\nHost: ${authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 101 /);
    expect(await client.readBytes('frame-1'.length)).toBe('frame-1');
    (await accepted).resetAndDestroy();
    expect(await ends).toBe('ECONNRESET');
  });

  it('CONNECT: a destination that resets before the client spoke (the first-flight wait) is a reset too; the next tunnel half-closes and ends with a clean FIN', async () => {
    const tcp = await startTcpOrigin();
    toClose.push(() => tcp.close());
    const origin = await acceptingOrigin();
    const proxy = await proxyForTest();
    const reset = await connectThrough(proxy, origin.port);
    const resetEnds = howItEnds(reset.socket);
    (await origin.accepted).resetAndDestroy();
    expect(await resetEnds).toBe('ECONNRESET');
    const clean = await connectThrough(proxy, tcp.port);
    const cleanEnds = howItEnds(clean.socket);
    clean.write('abc');
    clean.end();
    expect(await clean.readToEnd()).toMatch(/^3 [0-9a-f]{64}$/);
    expect(await cleanEnds).toBe('end');
  });

  it('an intercepted session (a TLS client side) whose upgraded destination resets ends, and the proxy serves on', async () => {
    // The client side of this splice is the proxy's TLS socket of the session, which cannot send a
    // TCP reset itself (resetAndDestroy throws on it): it is destroyed instead, and nothing throws.
    const dir = await mkdtemp(join(tmpdir(), 'kzp-reset-intercept-'));
    toClose.push(() => rm(dir, { recursive: true, force: true }));
    const ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy reset test CA', days: 2, force: false });
    const originCa = await createTestCa(['ws.example.test']);
    toClose.push(() => originCa.remove());
    const raws: Socket[] = [];
    const origin = createHttpsServer({ cert: originCa.certPem, key: originCa.keyPem }, (_req, res) => {
      res.end('ok');
    });
    origin.on('connection', (socket: Socket) => {
      raws.push(socket);
    });
    origin.on('upgrade', (_req, socket: Socket) => {
      socket.on('error', () => undefined);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframe-1');
      // The TCP connection under this TLS session: the only one accepted so far.
      socket.once('data', () => raws[0]?.resetAndDestroy());
    });
    origin.listen(0, '127.0.0.1');
    await once(origin, 'listening');
    toClose.push(
      () =>
        new Promise((resolve) => {
          for (const raw of raws) raw.destroy();
          origin.close(resolve);
        }),
    );
    const port = (origin.address() as AddressInfo).port;
    const proxy = await proxyForTest({
      resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
      upstreamCa: [originCa.caPem],
      interceptor: createInterceptor({ ca, intercepts: interceptedHosts(['ws.example.test']) }),
    });
    const target = `ws.example.test:${String(port)}`;
    const session = (): Promise<TLSSocket> => tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'ws.example.test' });
    const tls = await session();
    tls.on('error', () => undefined);
    const closed = once(tls, 'close');
    let text = '';
    tls.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.endsWith('frame-1')) tls.write('trigger the reset');
    });
    tls.write(`GET /socket HTTP/1.1\r\nHost: ${target}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
    await closed;
    expect(text).toMatch(/^HTTP\/1\.1 101 [^]*frame-1$/);
    const logged = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade');
    expect(logged).toMatchObject({ status: 101, target });
    const next = await session();
    const answer = await exchange(next, `GET /after HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    next.destroy();
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
  });
});
