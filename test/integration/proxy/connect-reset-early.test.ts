import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startTcpOrigin, type TcpOrigin } from '../../helpers/origins.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A client that resets its connection right after sending CONNECT (a process killed, a client
 * giving up with SO_LINGER 0): the proxy reads the request and the reset's end, dials, carries the
 * FIN to the destination (a shutdown of the destination socket), and then finds the client reset.
 * Resetting a socket already shut down fails in libuv (EINVAL), and Node then dropped the handle
 * without closing it: the destination's descriptor leaked, its 'close' never came, the tunnel was
 * never reported closed (no closed line, kaizen_proxy_active_tunnels stuck up) and every graceful
 * close waited its whole drain_timeout for it.
 */
const toClose: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

const CLIENTS = 20;

/** Sends a CONNECT and resets the connection at once, once the proxy has accepted it. */
function connectAndReset(port: number, target: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`, () => {
        socket.resetAndDestroy();
      });
    });
    socket.on('error', reject);
    socket.on('close', () => {
      resolve();
    });
  });
}

/** Resolves once `count` closed lines for `target` have been logged, or with what there is after `boundMs`. */
async function closedLines(proxy: StartedProxy, target: string, count: number, boundMs: number): Promise<number> {
  const matching = (): number => proxy.logs.lines.filter((line) => line.msg === 'closed' && line.target === target).length;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, boundMs);
  });
  const all = (async () => {
    for (let seen = 0; seen < count; seen++) {
      await proxy.logs.waitFor((line) => line.msg === 'closed' && line.target === target && matching() > seen);
    }
  })();
  await Promise.race([all, bound]);
  clearTimeout(timer);
  return matching();
}

describe('a CONNECT whose client resets at once', () => {
  it('is reported closed, leaves no open tunnel, and the drain does not wait for it', async () => {
    const origin: TcpOrigin = await startTcpOrigin();
    toClose.push(() => origin.close());
    const proxy = await startProxy({ limits: { drainTimeoutMs: 30_000 } });
    toClose.push(() => proxy.close());
    const target = `127.0.0.1:${String(origin.port)}`;

    for (let i = 0; i < CLIENTS; i++) await connectAndReset(proxy.port, target);

    // Each one was dialled (so its destination socket exists): the leak is on that socket.
    await expect(closedLines(proxy, target, CLIENTS, 5_000)).resolves.toBe(CLIENTS);
    expect(origin.connections).toBe(CLIENTS);
    expect(proxy.server.activeTunnels).toBe(0);

    const started = performance.now();
    await proxy.server.close();
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(proxy.logs.lines.find((line) => line.msg === 'drain ended')).toMatchObject({ ended: 'finished', tunnels_cut: 0 });
  }, 20_000);
});
