import { spawn } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../../helpers/raw-client.js';
import { howItEnds } from '../../helpers/socket-end.js';
import { watchChild } from '../../helpers/watched-child.js';
import { serveWithDrain, type ServeProcess } from './cli-process.js';

/**
 * The drain of a real `kaizen-proxy serve` on SIGTERM: CONNECT tunnels open at the signal carry
 * on (a streaming LLM answer through HTTPS is one) until they close by themselves or
 * limits.drain_timeout passes; then what is left is cut (a reset to the client and to the
 * destination, so neither takes the cut stream for a complete one) and the process exits 0.
 */

/** An origin whose /stream answer sends its first chunk at once and each next one when the test says. */
interface StreamingOrigin {
  readonly port: number;
  /** Resolves with the response once a /stream request has its first chunk written. */
  readonly streaming: Promise<ServerResponse>;
  close(): Promise<void>;
}

async function startStreamingOrigin(): Promise<StreamingOrigin> {
  let started: (res: ServerResponse) => void = () => undefined;
  const streaming = new Promise<ServerResponse>((resolve) => (started = resolve));
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('chunk 1\n');
    started(res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    streaming,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A raw CONNECT tunnel to the origin with `GET /stream` sent inside it, read up to its first chunk. */
async function streamThroughTunnel(proxyPort: number, origin: StreamingOrigin): Promise<RawClient> {
  const tunnel = await RawClient.open(proxyPort);
  tunnel.write(`CONNECT 127.0.0.1:${String(origin.port)} HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\n\r\n`);
  expect(await tunnel.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
  tunnel.write(`GET /stream HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\n\r\n`);
  await tunnel.readUntil('chunk 1\n');
  return tunnel;
}

let origin: StreamingOrigin | undefined;
let serve: ServeProcess | undefined;

afterEach(async () => {
  serve?.child.kill('SIGKILL');
  await origin?.close();
  origin = undefined;
  serve = undefined;
});

describe('SIGTERM drains open tunnels', () => {
  it('curl -p: a stream through a CONNECT tunnel completes after SIGTERM, then the proxy exits 0', async () => {
    origin = await startStreamingOrigin();
    serve = await serveWithDrain('20s');
    const proxy = serve;
    const curl = spawn('curl', ['-sS', '-N', '-p', '-x', `http://127.0.0.1:${String(proxy.port)}`, `http://127.0.0.1:${String(origin.port)}/stream`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let received = '';
    let stderr = '';
    let firstChunk: () => void = () => undefined;
    const gotFirstChunk = new Promise<void>((resolve) => (firstChunk = resolve));
    curl.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk;
      if (received.includes('chunk 1\n')) firstChunk();
    });
    curl.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const order: string[] = [];
    const curlExited = new Promise<number | null>((resolve) => curl.once('exit', (code) => {
      order.push('curl');
      resolve(code);
    }));
    const proxyExited = new Promise<number | null>((resolve) => proxy.child.once('exit', (code) => {
      order.push('proxy');
      resolve(code);
    }));
    const res = await origin.streaming;
    await gotFirstChunk;

    proxy.child.kill('SIGTERM');
    const draining = await proxy.waitFor((line) => line['msg'] === 'draining');
    for (let chunk = 2; chunk <= 6; chunk++) res.write(`chunk ${String(chunk)}\n`);
    res.end();

    expect(await curlExited, stderr).toBe(0);
    expect(received).toBe('chunk 1\nchunk 2\nchunk 3\nchunk 4\nchunk 5\nchunk 6\n');
    expect(await proxyExited).toBe(0);
    expect(order).toEqual(['curl', 'proxy']);
    expect(draining['open_tunnels']).toBe(1);
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', tunnels_cut: 0 }));
    expect(proxy.lines.map((line) => line['msg'])).toContain('stopped');
  });

  it('a tunnel still open at drain_timeout carries bytes until then, is reset on both sides, and the proxy exits 0', async () => {
    const drainMs = 1_000;
    origin = await startStreamingOrigin();
    serve = await serveWithDrain(`${String(drainMs)}ms`);
    const proxy = serve;
    const proxyExited = new Promise<number | null>((resolve) => proxy.child.once('exit', resolve));
    const tunnel = await streamThroughTunnel(proxy.port, origin);
    const res = await origin.streaming;
    const clientEnds = howItEnds(tunnel.socket);
    const originEnds = howItEnds(res.socket as Socket);

    const signalledAt = performance.now();
    proxy.child.kill('SIGTERM');
    await proxy.waitFor((line) => line['msg'] === 'draining');
    res.write('chunk 2\n');
    await tunnel.readUntil('chunk 2\n');
    await tunnel.closed;
    const cutAfterMs = performance.now() - signalledAt;

    expect(await proxyExited).toBe(0);
    // The deadline counts from the signal: the tunnel lived at least that long after it.
    expect(cutAfterMs).toBeGreaterThanOrEqual(drainMs - 5);
    // A clean FIN would end the streamed answer and the upload as if they were complete.
    expect(await clientEnds).toBe('ECONNRESET');
    expect(await originEnds).toBe('ECONNRESET');
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'deadline', tunnels_cut: 1 }));
  });

  it('curl -0: a response without a length still in flight at drain_timeout is cut with a reset, not ended as if complete', async () => {
    origin = await startStreamingOrigin();
    serve = await serveWithDrain('500ms');
    const proxy = serve;
    // HTTP/1.0: the answer is relayed without a length, ended by the connection's end.
    const curl = watchChild('curl', ['-sS', '-0', '-N', '--noproxy', '', '-x', `http://127.0.0.1:${String(proxy.port)}`, `http://127.0.0.1:${String(origin.port)}/stream`]);
    await curl.waitForStdout('chunk 1\n');

    proxy.child.kill('SIGTERM');
    const run = await curl.exited;

    // 56: "Recv failure: Connection reset by peer". A FIN made it exit 0, the partial body complete.
    expect(run.code, run.stderr).toBe(56);
    expect(run.stdout).toBe('chunk 1\n');
    expect(await proxy.waitFor((line) => line['msg'] === 'drain ended')).toMatchObject({ ended: 'deadline', in_flight_cut: 1 });
  });

  it('a second SIGTERM ends the drain at once: the tunnel is reset, the shutdown is logged, exit 143', async () => {
    const drainMs = 30_000;
    origin = await startStreamingOrigin();
    serve = await serveWithDrain('30s');
    const proxy = serve;
    const proxyExited = new Promise<number | null>((resolve) => proxy.child.once('exit', resolve));
    const tunnel = await streamThroughTunnel(proxy.port, origin);
    const clientEnds = howItEnds(tunnel.socket);
    const originEnds = howItEnds((await origin.streaming).socket as Socket);

    const signalledAt = performance.now();
    proxy.child.kill('SIGTERM');
    await proxy.waitFor((line) => line['msg'] === 'draining');
    expect(proxy.child.exitCode).toBeNull();
    proxy.child.kill('SIGTERM');
    await tunnel.closed;

    expect(await proxyExited).toBe(143);
    expect(performance.now() - signalledAt).toBeLessThan(drainMs / 3);
    expect(await clientEnds).toBe('ECONNRESET');
    expect(await originEnds).toBe('ECONNRESET');
    expect(proxy.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'cut', tunnels_cut: 1 }));
    expect(proxy.lines.map((line) => line['msg'])).toContain('stopped');
  });
});
