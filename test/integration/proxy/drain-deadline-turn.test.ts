import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/**
 * A tunnel whose client and destination have both closed when the drain's deadline fires, their
 * FINs not yet read, closed by itself: its `closed` line carries no KZP_ERR_SHUTDOWN and the drain
 * does not count it cut. The proxy runs in this process: the test holds the event loop past the
 * deadline, then closes both ends, so the deadline and the FINs are the same turn's, the timer
 * first (Node runs timers before reading sockets).
 */
const DRAIN_MS = 300;
const toClose: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

/** A TCP destination on loopback handing over the first connection it accepts. */
async function destination(): Promise<{ readonly port: number; readonly accepted: Promise<Socket> }> {
  let hand: (socket: Socket) => void = () => undefined;
  const accepted = new Promise<Socket>((resolve) => {
    hand = resolve;
  });
  const server: Server = createServer(hand);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  toClose.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );
  return { port: (server.address() as AddressInfo).port, accepted };
}

/** Blocks this thread for `ms` (Atomics.wait: no spin): nothing of the event loop's runs meanwhile. */
function holdEventLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function line(proxy: StartedProxy, msg: string, kind?: string): Record<string, unknown> | undefined {
  return proxy.logs.lines.find((entry) => entry.msg === msg && (kind === undefined || entry['kind'] === kind));
}

describe("drain: a tunnel that closes in the deadline's own turn", () => {
  it('CONNECT: logged as the ordinary close it was, not KZP_ERR_SHUTDOWN, and not counted cut', async () => {
    const target = await destination();
    const proxy = await startProxy({ limits: { drainTimeoutMs: DRAIN_MS } });
    toClose.push(() => proxy.close());
    const tunnel = await RawClient.open(proxy.port);
    tunnel.write(`CONNECT 127.0.0.1:${String(target.port)} HTTP/1.1\r\nHost: 127.0.0.1:${String(target.port)}\r\n\r\n`);
    expect(await tunnel.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    const far = await target.accepted;
    // Bytes both ways: the tunnel is spliced, and nothing is left unread at either end.
    far.write('pong');
    expect(await tunnel.readUntil('pong')).toBe('pong');
    const heard = new Promise<string>((resolve) => {
      far.once('data', (chunk: Buffer) => {
        resolve(chunk.toString());
      });
    });
    tunnel.write('ping');
    expect(await heard).toBe('ping');

    const closing = proxy.server.close();
    holdEventLoop(DRAIN_MS + 50);
    tunnel.socket.destroy();
    far.destroy();
    await closing;

    const closed = line(proxy, 'closed', 'connect');
    expect(closed).toBeDefined();
    expect(closed?.['code']).toBeUndefined();
    expect(line(proxy, 'drain ended')).toMatchObject({ tunnels_cut: 0 });
  });
});
