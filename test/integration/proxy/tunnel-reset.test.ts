import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { headOrigin } from '../../helpers/head-origin.js';
import { startTcpOrigin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { howItEnds } from '../../helpers/socket-end.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { exchange } from '../intercept/tunnel-client.js';
import { loopbackServers } from './loopback-servers.js';
import { startResettableTlsOrigin } from './resettable-tls-origin.js';

/**
 * A reset on one side of a spliced tunnel (socket-pipe.ts) reaches the other side as a reset, as
 * Envoy's tcp_proxy carries it: a clean FIN there would pass a stream cut short for a complete one
 * (connection-delimited protocols cannot tell). Half-close and clean ends: tunnel-behaviour.test.ts.
 */
const { acceptOne } = loopbackServers();
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

describe('a reset carried across a tunnel', () => {
  it('CONNECT: the destination resets mid-download, the client reads a reset, not a clean end', async () => {
    const origin = await acceptOne();
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
    const origin = await acceptOne();
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
    const origin = await acceptOne();
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

  it('an intercepted session (a TLS client side) whose upgraded destination resets: the client reads a reset, and the proxy serves on', async () => {
    // The client side of this splice is the proxy's TLS socket of the session, which cannot send a
    // TCP reset itself (resetAndDestroy throws on it): the CONNECT socket under it is reset.
    const origin = await startResettableTlsOrigin({
      upgrade: (_req, socket) => {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframe-1');
        socket.once('data', () => {
          origin.resetUnder(socket);
        });
      },
    });
    toClose.push(() => origin.close());
    const { proxy, target } = origin;
    const tls = await origin.session();
    const ends = howItEnds(tls);
    let text = '';
    tls.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (text.endsWith('frame-1')) tls.write('trigger the reset');
    });
    tls.write(`GET /socket HTTP/1.1\r\nHost: ${target}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n`);
    // A FIN (without close_notify) would read as a clean 'end' to a Node client.
    expect(await ends).toBe('ECONNRESET');
    expect(text).toMatch(/^HTTP\/1\.1 101 [^]*frame-1$/);
    const logged = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['kind'] === 'upgrade');
    expect(logged).toMatchObject({ status: 101, target });
    const next = await origin.session();
    const answer = await exchange(next, `GET /after HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    next.destroy();
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
  });

  it('a wss:// upgrade (a TLS destination side) whose client resets: the destination reads a reset, not a clean end', async () => {
    let upgraded: (socket: Socket) => void = () => undefined;
    const accepted = new Promise<Socket>((resolve) => {
      upgraded = resolve;
    });
    const origin = await startResettableTlsOrigin({
      upgrade: (_req, socket) => {
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nframe-1');
        upgraded(socket);
      },
    });
    toClose.push(() => origin.close());
    const client = await RawClient.open(origin.proxy.port);
    client.write(`GET https://${origin.target}/socket HTTP/1.1\r\nHost: ${origin.target}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 101 /);
    expect(await client.readBytes('frame-1'.length)).toBe('frame-1');
    const ends = howItEnds(await accepted);
    client.socket.resetAndDestroy();
    expect(await ends).toBe('ECONNRESET');
  });
});
