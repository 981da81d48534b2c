import type { Server } from 'node:http';
import type { FastLane } from './fast-lane.js';
import type { ProxyContext } from './proxy-context.js';

/**
 * Graceful close: stop accepting, close idle keep-alive connections, let requests (and tunnels
 * being set up) in flight finish within `drainTimeoutMs` (new responses say `Connection: close`),
 * then destroy whatever is left, established tunnels included, and the upstream pool.
 */
export async function closeGracefully(server: Server, proxy: ProxyContext, drainTimeoutMs: number, lane: FastLane | null = null): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => {
      resolve();
    });
  });
  server.closeIdleConnections();
  lane?.closeIdle();
  await proxy.lifecycle.drain(drainTimeoutMs);
  proxy.registry.destroyAll();
  proxy.pool.destroy();
  await closed;
}
