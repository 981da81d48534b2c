import { LRUCache } from 'lru-cache';
import type { OriginPoolStats } from '../contract/origin-pool-stats.js';
import type { UpstreamProxy } from '../net/upstream-proxy.js';
import { OriginPool, type Acquired, type DestinationSettings, type QueuedAcquire } from './origin-pool.js';
import { routeKey, type OriginRoute } from './origin-route.js';

/**
 * Keep-alive connections for HTTP forwarding, pooled per route (origin-route.ts): straight to a
 * destination, per scheme, host:port and set of checked addresses (a pool dials only the addresses
 * it was made for, never resolving a name, so a pooled connection always goes where a verdict
 * allowed); to an upstream proxy, per proxy and credentials; through one by CONNECT, per proxy,
 * credentials and destination. Our own HTTP/1.1
 * client (origin-connection.ts) rather than undici's Pool: the same CPU per request here
 * (bench/profile.mjs http --plain, 3 interleaved runs: 11.8 s against 12.2 s per 50,000
 * requests), but a request without a body is sent again when the reused connection it went out
 * on turns out closed (undici answers it with an error), response heads up to 64 KiB pass (undici
 * stops at 16 KiB), and the parser refuses what two parsers could read differently.
 */
export interface OriginPools {
  /**
   * A connection on `route` to one allowed destination: an idle pooled one unless `fresh`, else a new one,
   * else the next released. Returns the wait when the request joined the destination's queue (null
   * otherwise), to be cancelled if its client goes away first; a full queue answers at once with
   * KZP_ERR_LIMIT_DESTINATION.
   */
  acquire(route: OriginRoute, fresh: boolean, callback: Acquired): QueuedAcquire | null;
  /** The pool key of `route` (pinned-origin.ts keys a kept connection by it). */
  key(route: OriginRoute): string;
  /** Summed over every pool with a connection or a waiting request, for /metrics (walks them: not for the hot path). */
  stats(): OriginPoolStats;
  destroy(): void;
}

export interface OriginPoolOptions extends DestinationSettings {
  /** Destinations whose pools are kept (default 1,024); tests lower it to reach the eviction. */
  readonly maxPools?: number;
}

/** Destinations (with their address sets) whose pools are kept; the least recent closes its idle connections. */
const MAX_POOLS = 1_024;

export function createOriginPools(options: OriginPoolOptions): OriginPools {
  /**
   * Pools dropped from the LRU while exchanges or waiting requests remain, until they end: still
   * counted in stats(), closed by destroy(), and taken back if their destination returns first,
   * so one destination never has two pools (and twice the connection limit).
   */
  const draining = new Map<string, OriginPool>();
  const pools = new LRUCache<string, OriginPool>({
    max: options.maxPools ?? MAX_POOLS,
    dispose: (pool, key, reason) => {
      if (reason === 'delete') return; // clear(): destroy() has closed every pool already
      if (pool.retire()) draining.set(key, pool);
    },
  });
  const drained = (key: string, pool: OriginPool): void => {
    if (draining.get(key) === pool) draining.delete(key);
  };
  // A fresh connection is asked for only to send a request again (upstream-dispatch.ts).
  let retries = 0;
  // Upstream proxies by identity, credentials included, so that no key holds a password.
  const proxies = new WeakMap<UpstreamProxy, number>();
  let lastProxyId = 0;
  const proxyId = (proxy: UpstreamProxy): number => {
    let id = proxies.get(proxy);
    if (id === undefined) {
      id = ++lastProxyId;
      proxies.set(proxy, id);
    }
    return id;
  };
  return {
    key: (route) => routeKey(route, proxyId),
    acquire(route, fresh, callback) {
      if (fresh) retries++;
      const key = routeKey(route, proxyId);
      let pool = pools.get(key);
      if (pool === undefined) {
        pool = draining.get(key);
        draining.delete(key);
        if (pool === undefined) pool = new OriginPool(route, options, (done) => { drained(key, done); });
        else pool.revive();
        pools.set(key, pool);
      }
      return pool.acquire(fresh, callback);
    },
    stats() {
      let active = 0;
      let idle = 0;
      let queued = 0;
      for (const pool of [...pools.values(), ...draining.values()]) {
        const counts = pool.counts();
        active += counts.active;
        idle += counts.idle;
        queued += counts.queued;
      }
      return { active, idle, queued, retries };
    },
    destroy() {
      for (const pool of [...pools.values(), ...draining.values()]) pool.destroyAll();
      pools.clear();
      draining.clear();
    },
  };
}
