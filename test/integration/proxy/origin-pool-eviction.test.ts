import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAuthority } from '../../../src/action/target-parse.js';
import type { Target } from '../../../src/contract/target.js';
import { directConnector } from '../../../src/net/connector.js';
import type { OriginConnection } from '../../../src/proxy/origin-connection.js';
import { createOriginPools, type OriginPools } from '../../../src/proxy/origin-pools.js';

// A destination's pool dropped from the LRU (more destinations than max_pools) keeps its busy
// connections until their exchanges end: they stay counted, they close with the proxy, and a
// request for that destination meanwhile goes to the same pool, never to a second one.

interface Origin {
  readonly target: Target;
  readonly sockets: Set<Socket>;
  readonly server: Server;
}

const origins: Origin[] = [];
let pools: OriginPools | null = null;

async function origin(): Promise<Origin> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const parsed = parseAuthority(`127.0.0.1:${String((server.address() as AddressInfo).port)}`);
  if (!parsed.ok) throw new Error(parsed.message);
  const started = { target: parsed.value, sockets, server };
  origins.push(started);
  return started;
}

function acquire(from: OriginPools, to: Origin): Promise<OriginConnection> {
  return new Promise((resolve, reject) => {
    from.acquire({ kind: 'direct', target: to.target, secure: false, addresses: ['127.0.0.1'] }, false, (result) => {
      if (result.ok) resolve(result.connection);
      else reject(result.error);
    });
  });
}

afterEach(async () => {
  pools?.destroy();
  pools = null;
  for (const started of origins.splice(0)) {
    for (const socket of started.sockets) socket.destroy();
    started.server.close();
    await once(started.server, 'close');
  }
});

describe('origin pools past max_pools', () => {
  it('an evicted pool with a busy connection is counted, and taken back when its destination returns', async () => {
    pools = createOriginPools({ connectTimeoutMs: 2_000, idleTimeoutMs: 10_000, secureContext: undefined, connector: directConnector, maxPools: 1 });
    const a = await origin();
    const b = await origin();
    const busyA = await acquire(pools, a);
    await acquire(pools, b); // evicts a's pool while busyA is still out
    expect(pools.stats()).toMatchObject({ active: 2, idle: 0 });

    const again = await acquire(pools, a); // a's pool again: a second connection in it
    expect(again).not.toBe(busyA);
    busyA.release();
    expect(pools.stats()).toMatchObject({ active: 2, idle: 1 });
    expect(await acquire(pools, a)).toBe(busyA); // reused: its pool was taken back, not retired
  });

  it('an evicted pool closes a released connection, and destroy() closes the busy ones', async () => {
    pools = createOriginPools({ connectTimeoutMs: 2_000, idleTimeoutMs: 10_000, secureContext: undefined, connector: directConnector, maxPools: 1 });
    const a = await origin();
    const b = await origin();
    const c = await origin();
    const first = await acquire(pools, a);
    const second = await acquire(pools, b); // evicts a
    await acquire(pools, c); // evicts b, whose connection stays out
    expect(pools.stats()).toMatchObject({ active: 3, idle: 0 });

    const aClosed = [...a.sockets].map((socket) => once(socket, 'close'));
    expect(aClosed).toHaveLength(1);
    first.release(); // its pool is gone from the LRU: closed, not kept idle
    await Promise.all(aClosed);

    const bClosed = [...b.sockets].map((socket) => once(socket, 'close'));
    expect(bClosed).toHaveLength(1);
    pools.destroy();
    await Promise.all(bClosed);
    second.release();
  });
});
