import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { directConnector, type Connector } from '../../../src/net/connector.js';
import { startHoldingOrigin } from '../../helpers/holding-origin.js';
import { startOrigin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa } from '../../helpers/test-ca.js';
import { exchange, tlsThrough } from '../intercept/tunnel-client.js';

/**
 * A graceful close leaves every kind of tunnel to end by itself (within drain_timeout): spliced
 * upgrades (WebSocket), redirected TLS (transparent mode) and intercepted sessions, which end
 * after their current response. CONNECT tunnels: limits-and-close.test.ts and, through the CLI,
 * reflex/serve-drain.test.ts. Each drain here has 30 s: finishing means it did not wait for it.
 */
const DRAIN_MS = 30_000;
const toClose: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

function drainEnded(proxy: StartedProxy): Record<string, unknown> | undefined {
  return proxy.logs.lines.find((line) => line.msg === 'drain ended');
}

/** Resolves with everything read once `marker` has arrived (or the socket closed first). */
function readUntil(socket: TLSSocket, marker: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const done = (): void => {
      socket.off('data', onData);
      socket.off('close', done);
      resolve(text);
    };
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      if (text.includes(marker)) done();
    };
    socket.on('data', onData);
    socket.once('close', done);
  });
}

function closedPromise(socket: TLSSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) resolve();
    else
      socket.once('close', () => {
        resolve();
      });
  });
}

describe('graceful close with open tunnels', () => {
  it('a WebSocket upgrade keeps relaying after the close starts, and the drain ends when it does', async () => {
    const origin = await startOrigin();
    toClose.push(() => origin.close());
    const proxy = await startProxy({ limits: { drainTimeoutMs: DRAIN_MS } });
    toClose.push(() => proxy.close());
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${origin.url}/ws HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 101 /);

    const closing = proxy.server.close();
    client.write('after the signal');
    expect(await client.readBytes('after the signal'.length)).toBe('after the signal');
    client.end();
    await closing;
    await client.closed;
    expect(drainEnded(proxy)).toMatchObject({ ended: 'finished', tunnels_cut: 0 });
  });

  it('a redirected TLS tunnel (transparent mode) carries its session to the end', async () => {
    const ca = await createTestCa(['stream.test']);
    toClose.push(() => ca.remove());
    const origin = await startOrigin({ tls: ca });
    toClose.push(() => origin.close());
    // Redirected TLS goes to the SNI on port 443: here, to the origin's port.
    const connector: Connector = { ...directConnector, open: (target, addresses, options) => directConnector.open({ ...target, port: origin.port }, addresses, options) };
    const proxy = await startProxy({ connector, resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }), limits: { drainTimeoutMs: DRAIN_MS } });
    toClose.push(() => proxy.close());
    const redirected = await proxy.server.listenTransparent('127.0.0.1', 0);
    const tls = await new Promise<TLSSocket>((resolve, reject) => {
      const socket = tlsConnect({ port: redirected.port, host: '127.0.0.1', servername: 'stream.test', ca: ca.caPem }, () => {
        socket.off('error', reject);
        // A cut tunnel is a reset: the exchange below reads it as a close, never an uncaught error.
        socket.on('error', () => undefined);
        resolve(socket);
      });
      socket.once('error', reject);
    });
    const first = await exchange(tls, 'GET /first HTTP/1.1\r\nHost: stream.test\r\n\r\n');
    expect(first.status).toBe(200);

    const closing = proxy.server.close();
    const second = await exchange(tls, 'GET /after-the-signal HTTP/1.1\r\nHost: stream.test\r\n\r\n');
    expect(second.status).toBe(200);
    expect(second.body).toContain('/after-the-signal');
    tls.end();
    await closing;
    expect(drainEnded(proxy)).toMatchObject({ ended: 'finished', tunnels_cut: 0 });
  });

  it('intercepted sessions end after their current response, whenever its head went out; idle ones at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kzp-drain-intercept-'));
    toClose.push(() => rm(dir, { recursive: true, force: true }));
    const ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy drain test CA', days: 2, force: false });
    const originCa = await createTestCa(['api.example.test']);
    toClose.push(() => originCa.remove());
    const origin = await startHoldingOrigin({ tls: originCa });
    toClose.push(() => origin.close());
    const proxy = await startProxy({
      resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
      upstreamCa: [originCa.caPem],
      interceptor: createInterceptor({ ca, intercepts: interceptedHosts(['api.example.test']) }),
      limits: { drainTimeoutMs: DRAIN_MS },
      // Longer than the drain: a keep-alive session left idle would hold it to its deadline.
      network: { idleTimeoutMs: 2 * DRAIN_MS },
    });
    toClose.push(() => proxy.close());
    const target = `api.example.test:${String(origin.port)}`;
    const session = (): Promise<TLSSocket> => tlsThrough(proxy.port, target, { ca: ca.certPem, servername: 'api.example.test' });
    const request = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: api.example.test\r\n\r\n`;

    // Idle at the signal: closed at once.
    const idle = await session();
    const idleClosed = closedPromise(idle);
    expect((await exchange(idle, request('/idle'))).status).toBe(200);
    // Waiting for its answer at the signal: the answer says Connection: close, then the session ends.
    const waiting = await session();
    const answered = exchange(waiting, request('/held'));
    const held = await origin.held('/held');
    // Streaming at the signal (its head said keep-alive): the session ends after the last chunk.
    const streaming = await session();
    streaming.write(request('/streaming'));
    const streamHead = await readUntil(streaming, 'first chunk;');
    expect(streamHead).not.toMatch(/\r\nconnection: close/i);
    const stream = await origin.held('/streaming');
    const streamClosed = closedPromise(streaming);

    const closing = proxy.server.close();
    await idleClosed;
    held.end('released after the signal');
    const response = await answered;
    expect(response.status).toBe(200);
    expect(response.body).toBe('released after the signal');
    expect(response.head.toLowerCase()).toContain('\r\nconnection: close');
    const rest = readUntil(streaming, '0\r\n\r\n');
    stream.end('last chunk');
    expect(await rest).toContain('last chunk');
    await streamClosed;
    await closing;
    expect(drainEnded(proxy)).toMatchObject({ ended: 'finished', tunnels_cut: 0, in_flight_cut: 0 });
  });
});
