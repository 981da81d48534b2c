import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import type { UpstreamProxy } from '../../../src/net/upstream-proxy.js';
import { API_KEY, resilienceConfig, startResilientProxy, viaProxy, type RunningProxy } from './resilience-support.js';

/**
 * The control plane reached through an upstream proxy that stalls for a while: it accepts the
 * connection and reads the CONNECT, but answers nothing (overloaded, a hung worker). undici sends
 * that CONNECT through a client of its own whose wait for an answer was its default 300 s, and the
 * verdict's deadline never reached it: each stalled CONNECT held one of the client's 64 request
 * slots for five minutes. After a stall that took all 64, every new destination was refused 503
 * (fail closed) for five minutes, though the upstream and the control plane were well again.
 */
const DEADLINE_MS = 500;
/** More distinct actions than the client has slots (64), so the stall takes every one. */
const STALLED_ACTIONS = 70;
/** Room for a loaded machine; the old hold was 300 s. */
const RELEASE_BOUND_MS = 5_000;

interface StallingUpstream {
  readonly port: number;
  /** Sockets whose CONNECT was read and never answered, still open. */
  readonly stalled: ReadonlySet<Socket>;
  /** How many CONNECTs it has stalled so far. */
  stalledCount(): number;
  /** Drops the tunnels it relays (a restart), and stalls every CONNECT from now on. */
  stall(): void;
  /** From now on, CONNECTs are answered 200 and relayed to the control plane again. */
  recover(): void;
  close(): Promise<void>;
}

/** A raw TCP upstream proxy: relays each CONNECT to 127.0.0.1:`target`, or, between stall() and recover(), leaves it unanswered. */
async function startStallingUpstream(target: number): Promise<StallingUpstream> {
  const stalled = new Set<Socket>();
  const sockets = new Set<Socket>();
  const relayed = new Set<Socket>();
  let stalling = false;
  let count = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      if (stalling) {
        count += 1;
        stalled.add(socket);
        socket.on('close', () => stalled.delete(socket));
        return;
      }
      relayed.add(socket);
      socket.on('close', () => relayed.delete(socket));
      const onward = connect(target, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
        onward.write(head.subarray(end + 4));
        onward.pipe(socket);
        socket.pipe(onward);
      });
      onward.on('error', () => socket.destroy());
      socket.on('close', () => onward.destroy());
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    stalled,
    stalledCount: () => count,
    stall: () => {
      stalling = true;
      for (const socket of relayed) socket.destroy();
    },
    recover: () => {
      stalling = false;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Resolves once every stalled socket has been closed by the proxy; rejects after `ms`. */
function stalledReleased(upstream: StallingUpstream, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${upstream.stalled.size} stalled CONNECTs to the upstream still held after ${ms} ms`));
    }, ms);
    const check = (): void => {
      if (upstream.stalled.size > 0) return;
      clearTimeout(timer);
      resolve();
    };
    for (const socket of upstream.stalled) socket.once('close', () => setImmediate(check));
    check();
  });
}

let cp: FakeControlPlane | null = null;
let upstream: StallingUpstream | null = null;
let running: RunningProxy | null = null;

afterEach(async () => {
  // First: a CONNECT still stalled would hold the proxy's close.
  await upstream?.close();
  if (running !== null) {
    await running.proxy.close();
    expect(running.logs.text()).not.toContain(API_KEY);
    running = null;
  }
  await cp?.close();
});

it('an upstream proxy that stalled every CONNECT to the control plane: once it answers again, so do verdicts', async () => {
  cp = await startFakeControlPlane();
  cp.respondWith(reply.block());
  const controlPlanePort = Number(new URL(cp.url).port);
  upstream = await startStallingUpstream(controlPlanePort);
  const via: UpstreamProxy = { url: `http://127.0.0.1:${upstream.port}`, host: '127.0.0.1', port: upstream.port, username: null, password: null };
  // A name, so upstream_no_proxy's 127.0.0.0/8 (which sends the destinations below direct) leaves the control plane to the upstream.
  const config = resilienceConfig({ url: `http://localhost:${controlPlanePort}`, timeoutMs: DEADLINE_MS });
  running = await startResilientProxy({ ...config, upstreamProxy: { source: 'config', https: via, http: via, noProxy: ['127.0.0.0/8'], ignored: [] } });
  const port = running.port;

  upstream.stall();
  // Distinct destinations, so no verdict call is shared.
  const during = await Promise.all(Array.from({ length: STALLED_ACTIONS }, (_, i) => viaProxy(port, `http://127.0.1.${1 + i}:9/`)));
  expect(new Set(during.map((answer) => answer.status))).toEqual(new Set([503]));
  expect(upstream.stalledCount()).toBeGreaterThanOrEqual(64);

  upstream.recover();
  await stalledReleased(upstream, RELEASE_BOUND_MS);
  const after = await viaProxy(port, 'http://127.0.2.1:9/');
  expect(after.status).toBe(403);
  expect(after.headers['x-kaizen-decision']).toBe('block');
  expect(cp.requests.filter((request) => request.path === '/v1/verdicts')).toHaveLength(1);
}, 30_000);
