import { createServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenClosable, type ClosableServer } from '../../helpers/closable-server.js';
import { RawClient } from '../../helpers/raw-client.js';
import { spawnProxy, type ProxyProcess } from './proxy-process.js';

/**
 * A destination an agent was steered to drips its response head a byte per TCP segment. The head
 * limit (64 KiB) bounds what the proxy holds for it: the bytes were kept as one copied Buffer per
 * read, 40,000 one-byte Buffers (about 3 MB) per connection for a 40 KB head, so a few hundred
 * such requests took gigabytes. They are now copied into one buffer per connection.
 */
const CONNECTIONS = 32;
const HEAD_BYTES = 40_000;
/** Growth allowed while every connection holds its partial head: their bytes (1.3 MB), and the heap the reads themselves churn. */
const GROWTH_LIMIT = 48 * 1024 * 1024;

describe('a response head dripped a byte per segment', () => {
  let proxy: ProxyProcess;
  let origin: ClosableServer;
  const dripping: Socket[] = [];
  let allArrived: () => void = () => undefined;

  beforeAll(async () => {
    origin = await listenClosable(
      createServer((socket) => {
        socket.setNoDelay(true);
        socket.on('error', () => undefined);
        socket.once('data', () => {
          socket.write('HTTP/1.1 200 OK\r\nX-Padding: ');
          dripping.push(socket);
          if (dripping.length === CONNECTIONS) allArrived();
        });
      }),
    );
    proxy = await spawnProxy({ yaml: ['listen: 127.0.0.1:0', 'admin: off', 'network:', '  allow_private: ["127.0.0.1/32"]'].join('\n') });
  });

  afterAll(async () => {
    await proxy.stop();
    await origin.close();
  });

  it('holds about the bytes of the head, not a Buffer per byte, and relays it whole', async () => {
    const arrived = new Promise<void>((resolve) => (allArrived = resolve));
    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => RawClient.open(proxy.port)));
    for (const client of clients) client.write(`GET ${origin.url}/page HTTP/1.1\r\nHost: x\r\n\r\n`);
    await arrived;
    const before = proxy.rss();
    // One byte per connection per turn of the event loop: each its own segment, its own read.
    for (let i = 0; i < HEAD_BYTES; i++) {
      for (const socket of dripping) socket.write('a');
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Wait until the proxy has read every byte: the origin's sockets have no unsent bytes left, then one round trip more.
    await Promise.all(
      dripping.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.writableLength === 0) resolve();
            else socket.once('drain', () => { resolve(); });
          }),
      ),
    );
    const probe = await RawClient.open(proxy.port);
    probe.write(`OPTIONS ${origin.url}/ HTTP/1.1\r\nHost: x\r\nMax-Forwards: 0\r\n\r\n`);
    expect((await probe.readResponse({ bodiless: true })).status).toBe(200);
    probe.destroy();
    const growth = proxy.rss() - before;
    expect(growth).toBeLessThan(GROWTH_LIMIT);
    for (const socket of dripping) socket.write('\r\nContent-Length: 2\r\n\r\nok');
    for (const client of clients) {
      const answer = await client.readResponse();
      expect(answer.status).toBe(200);
      expect(answer.headers['x-padding']).toHaveLength(HEAD_BYTES);
      client.destroy();
    }
  }, 120_000);
});
