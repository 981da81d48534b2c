import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBlackhole, type Blackhole } from '../../helpers/blackhole.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { resilienceConfig, startResilientProxy, viaProxy, type RunningProxy } from './resilience-support.js';
import { closedPort } from '../../helpers/closed-port.js';

/** A raw TCP origin that answers every request by `behave`. */
async function rawOrigin(behave: (socket: Socket) => void): Promise<{ port: number; server: Server; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => {
      behave(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, server, sockets };
}

let running: RunningProxy;
let good: Origin;
let blackhole: Blackhole;
const servers: { server: Server; sockets: Set<Socket> }[] = [];
let refused: number;
let resetMidBody: number;
let silent: number;
let drip: number;

beforeAll(async () => {
  good = await startOrigin();
  blackhole = await startBlackhole();
  refused = await closedPort();
  const reset = await rawOrigin((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(100), () => socket.resetAndDestroy());
  });
  const quiet = await rawOrigin(() => undefined);
  const slow = await rawOrigin((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\n');
    let sent = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || sent === 10) {
        clearInterval(timer);
        return;
      }
      socket.write(String(sent++));
    }, 150);
  });
  servers.push(reset, quiet, slow);
  resetMidBody = reset.port;
  silent = quiet.port;
  drip = slow.port;
  running = await startResilientProxy(
    resilienceConfig({ url: 'http://127.0.0.1:9', account: false, network: { connectTimeoutMs: 1_000, idleTimeoutMs: 2_000 } }),
  );
});

afterAll(async () => {
  await running.proxy.close();
  await good.close();
  await blackhole.close();
  for (const { server, sockets } of servers) {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => {
      resolve();
    }));
  }
});

/** A well-behaved client: sequential requests to a good origin for as long as `until` is pending. */
async function wellBehaved(until: Promise<unknown>): Promise<number[]> {
  let done = false;
  void until.finally(() => (done = true));
  const finished = (): boolean => done;
  const statuses: number[] = [];
  while (!finished()) {
    const answer = await viaProxy(running.port, `${good.url}/steady/${statuses.length}`);
    statuses.push(answer.status);
    expect(answer.ms).toBeLessThan(5_000);
  }
  return statuses;
}

async function connectThrough(port: number): Promise<string> {
  const client = await RawClient.open(running.port);
  client.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  const head = await client.readUntil('\r\n\r\n');
  client.destroy();
  return head.split('\r\n')[0] ?? '';
}

describe('upstream faults', () => {
  it('refused, reset mid-body, never answering, unreachable and slow drip: 502/504 or a clean reset; other clients unaffected', async () => {
    const faults = (async () => {
      const refusedAnswer = await viaProxy(running.port, `http://127.0.0.1:${refused}/`);
      expect(refusedAnswer.status).toBe(502);
      expect(refusedAnswer.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_CONNECT');
      expect(refusedAnswer.headers['x-kaizen-decision']).toBeUndefined();
      expect(await connectThrough(refused)).toBe('HTTP/1.1 502 Bad Gateway');

      // The head went out before the reset: the client sees the response cut short, never a complete one.
      const cut = await RawClient.open(running.port);
      cut.write(`GET http://127.0.0.1:${resetMidBody}/ HTTP/1.1\r\nHost: x\r\n\r\n`);
      const received = await cut.readToEnd();
      expect(received.startsWith('HTTP/1.1 200 OK')).toBe(true);
      expect(received.length - received.indexOf('\r\n\r\n') - 4).toBeLessThan(1000);

      const quiet = await viaProxy(running.port, `http://127.0.0.1:${silent}/`);
      expect(quiet.status).toBe(504);
      expect(quiet.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_TIMEOUT');

      const unreachable = await viaProxy(running.port, `http://127.0.0.1:${blackhole.port}/`);
      expect(unreachable.status).toBe(504);
      expect(await connectThrough(blackhole.port)).toBe('HTTP/1.1 504 Gateway Timeout');

      const slow = await viaProxy(running.port, `http://127.0.0.1:${drip}/`);
      expect(slow.status).toBe(200);
      expect(slow.body).toBe('0123456789');
    })();
    // Run the faults concurrently with each other too.
    const parallel = Promise.all([
      viaProxy(running.port, `http://127.0.0.1:${silent}/p`),
      viaProxy(running.port, `http://127.0.0.1:${blackhole.port}/p`),
      viaProxy(running.port, `http://127.0.0.1:${drip}/p`),
    ]);
    const steady = await wellBehaved(Promise.all([faults, parallel]));
    await faults;
    expect((await parallel).map((answer) => answer.status)).toEqual([504, 504, 200]);
    expect(steady.length).toBeGreaterThan(3);
    expect(new Set(steady)).toEqual(new Set([200]));
    expect(running.logs.lines().filter((line) => line['level'] === 'error' || line['level'] === 'fatal')).toEqual([]);
  });
});
