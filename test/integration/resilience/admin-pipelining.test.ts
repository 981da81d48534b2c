import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenClosable, type ClosableServer } from '../../helpers/closable-server.js';
import { RawClient } from '../../helpers/raw-client.js';
import { spawnProxy, type ProxyProcess } from './proxy-process.js';

/**
 * Clients that pipeline thousands of `GET /metrics` in one write to the admin port and read
 * nothing. node:http starts every request one read holds (about 1,700 here) at once: each
 * collected the metrics and queued a 14 KB answer, so 16 such connections took the proxy's RSS
 * past a gigabyte and held its event loop for seconds, and every agent's request through the
 * proxy port waited behind them.
 */
const CONNECTIONS = 16;
const REQUEST = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n';
/** One read's worth (under 64 KiB) per connection. */
const PIPELINED = Math.floor(63_000 / REQUEST.length);
/** Growth allowed: a few answers per connection and the heap they churn. */
const GROWTH_LIMIT = 64 * 1024 * 1024;
/** A proxied request's answer during the flood (milliseconds before; seconds without the bound). */
const LATENCY_LIMIT_MS = 2_000;

interface SilentWriter {
  readonly socket: Socket;
  /** Resolves when the connection closes (it may while the socket is paused). */
  readonly closed: Promise<unknown>;
}

/** A connection that writes `data` and then reads nothing until resumed. */
async function silentWriter(port: number, data: string): Promise<SilentWriter> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  await once(socket, 'connect');
  socket.pause();
  socket.write(data);
  return { socket, closed };
}

/** The count of answers the writer holds and receives until its connection closes. */
async function answersUntilClose(writer: SilentWriter): Promise<number> {
  let text = '';
  writer.socket.setEncoding('latin1');
  writer.socket.on('data', (chunk: string) => (text += chunk));
  writer.socket.resume();
  await writer.closed;
  return text.split('HTTP/1.1 200 OK').length - 1;
}

describe('requests pipelined to the admin port by clients that read nothing', () => {
  let proxy: ProxyProcess;
  let origin: ClosableServer;

  beforeAll(async () => {
    origin = await listenClosable(createServer((_req, res) => res.end('ok')));
    proxy = await spawnProxy({ yaml: ['listen: 127.0.0.1:0', 'admin: 127.0.0.1:0', 'network:', '  allow_private: ["127.0.0.1/32"]'].join('\n') });
  });

  afterAll(async () => {
    await proxy.stop();
    await origin.close();
  });

  it('answers a few of each connection, closes it, and keeps the proxy port answering with bounded memory', async () => {
    const adminPort = proxy.adminPort;
    if (adminPort === null) throw new Error('no admin port');
    const before = proxy.rss();
    const flood = await Promise.all(Array.from({ length: CONNECTIONS }, () => silentWriter(adminPort, REQUEST.repeat(PIPELINED))));

    const started = performance.now();
    const agent = await RawClient.open(proxy.port);
    agent.write(`GET ${origin.url}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
    const answer = await agent.readResponse();
    const latency = performance.now() - started;
    agent.destroy();
    expect(answer.body).toBe('ok');
    expect(latency).toBeLessThan(LATENCY_LIMIT_MS);
    expect(proxy.rss() - before).toBeLessThan(GROWTH_LIMIT);

    const answered = await Promise.all(flood.map(answersUntilClose));
    for (const count of answered) expect(count).toBeLessThanOrEqual(4);
  }, 120_000);
});
