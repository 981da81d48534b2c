import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// An Upgrade request waits on its destination (the TLS handshake of an https:// upgrade, then the
// answer) before anything is relayed. A client that leaves meanwhile must give the destination up
// at once, not when it answers or the idle or connect timeout (two minutes here) ends the wait.

function upgradeRequest(url: string): string {
  return (
    `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
  );
}

/** Resolves once the socket is closed. */
function closedSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) resolve();
    else socket.once('close', () => {
      resolve();
    });
  });
}

const leaving = {
  'closes (FIN)': (client: RawClient): void => {
    client.destroy();
  },
  'resets (RST)': (client: RawClient): void => {
    client.socket.resetAndDestroy();
  },
} as const;

describe.each([
  ['the answer', 'http'],
  ['the TLS handshake', 'https'],
] as const)('a client that leaves while its upgrade waits for %s', (_wait, scheme) => {
  let silent: HeadOrigin;
  let origin: Origin;
  let proxy: StartedProxy;
  /** Resolves with the silent origin's next connection once its first bytes (head or ClientHello) are in. */
  let nextReached: () => Promise<Socket>;

  beforeAll(async () => {
    // Takes the connection and whatever comes on it, and never answers.
    silent = await headOrigin(() => undefined);
    nextReached = () =>
      new Promise((resolve) => {
        silent.server.once('connection', (socket: Socket) => {
          socket.once('data', () => {
            resolve(socket);
          });
        });
      });
    origin = await startOrigin();
    proxy = await startProxy({ network: { idleTimeoutMs: 120_000, connectTimeoutMs: 120_000 } });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), silent.close(), origin.close()]);
  });

  it.each(Object.entries(leaving))('closes the destination connection at once when it %s, and logs the exchange closed', async (_how, leave) => {
    const target = `127.0.0.1:${silent.port}`;
    const earlier = new Set(proxy.logs.lines);
    const reached = nextReached();
    const client = await RawClient.open(proxy.port);
    client.write(upgradeRequest(`${scheme}://${target}/socket`));
    const upstream = await reached;
    leave(client);
    await closedSocket(upstream);
    const closed = await proxy.logs.waitFor((line) => !earlier.has(line) && line.msg === 'closed' && line['kind'] === 'upgrade' && line['target'] === target);
    expect(closed).toMatchObject({ status: 0, bytes_down: 0 });
    expect(closed).not.toHaveProperty('code');

    // The proxy goes on serving.
    const next = await RawClient.open(proxy.port);
    next.write(`GET ${origin.url}/after HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nConnection: close\r\n\r\n`);
    const reply = await next.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  }, 10_000);
});
