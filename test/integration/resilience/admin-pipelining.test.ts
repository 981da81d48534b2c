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
 * nothing. node:http parsed every request one read held (about 1,700 here) at once and made a
 * request and a response object for each before any bound could run: the proxy's RSS grew by
 * 21 to 146 MiB, and before that bound existed each collected the metrics and queued a 14 KB
 * answer, past a gigabyte. The admin port now reads heads itself (src/observe/admin-connection.ts):
 * each complete head is counted as it is found, and a connection's fifth unanswered one closes it
 * there, so a connection holds at most one incomplete head, four parsed requests and one answer.
 */
const CONNECTIONS = 16;
const REQUEST = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n';
/** One read's worth (under 64 KiB) per connection. */
const PIPELINED = Math.floor(63_000 / REQUEST.length);
/**
 * Growth allowed: the flood's few parsed heads and the heap the proxied request churns. Measured
 * 0.3 to 1.4 MiB on Node 24 and 1.2 to 3.8 MiB on Node 20 (alone, and beside the other test files);
 * node:http's parser took 21 to 146 MiB.
 */
const GROWTH_LIMIT = 16 * 1024 * 1024;
/** A proxied request's answer during the flood (milliseconds before; seconds without the bound). */
const LATENCY_LIMIT_MS = 2_000;

interface SilentWriter {
  readonly socket: Socket;
  /** Resolves when the connection closes, by a FIN or a reset (it may while the socket is paused). */
  readonly closed: Promise<void>;
}

/** A connection that writes `data` and then reads nothing until resumed. */
async function silentWriter(port: number, data: string): Promise<SilentWriter> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  // Not events.once, which rejects on 'error': the proxy closes a connection with requests still
  // unread, so the client may see a reset (ECONNRESET) rather than a FIN; either is the close.
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => {
      resolve();
    });
  });
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
    // Every connection was read to its close by now: the whole flood has been through the reader.
    expect(proxy.rss() - before).toBeLessThan(GROWTH_LIMIT);
  }, 120_000);
});
