import { LRUCache } from 'lru-cache';
import type { OriginPoolStats } from '../contract/origin-pool-stats.js';
import type { Target } from '../contract/target.js';
import { OriginPool, type Acquired, type DestinationSettings, type QueuedAcquire } from './origin-pool.js';

/**
 * Keep-alive connections for plain-HTTP forwarding straight to destinations, pooled per scheme,
 * host:port and set of checked addresses: a pool dials only the addresses it was made for (never
 * resolving a name), so a pooled connection always goes where a verdict allowed. Our own HTTP/1.1
 * client (origin-connection.ts) rather than undici's Pool: the same CPU per request here
 * (bench/profile.mjs http --plain, 3 interleaved runs: 11.8 s against 12.2 s per 50,000
 * requests), but a request without a body is sent again when the reused connection it went out
 * on turns out closed (undici answers it with an error), response heads up to 64 KiB pass (undici
 * stops at 16 KiB), and the parser refuses what two parsers could read differently.
 */
export interface OriginPools {
  /**
   * A connection to one allowed destination: an idle pooled one unless `fresh`, else a new one,
   * else the next released. Returns the wait when the request joined the destination's queue (null
   * otherwise), to be cancelled if its client goes away first; a full queue answers at once with
   * KZP_ERR_LIMIT_DESTINATION.
   */
  acquire(target: Target, secure: boolean, addresses: readonly string[], fresh: boolean, callback: Acquired): QueuedAcquire | null;
  /** Summed over every pool with a connection or a waiting request, for /metrics (walks them: not for the hot path). */
  stats(): OriginPoolStats;
  destroy(): void;
}

export interface OriginPoolOptions extends DestinationSettings {
  /** Destinations whose pools are kept (default 1,024); tests lower it to reach the eviction. */
  readonly maxPools?: number;
}

/** One destination's pool: its scheme, authority and the set of checked addresses it dials. */
export function originPoolKey(target: Target, secure: boolean, addresses: readonly string[]): string {
  return `${secure ? 's' : 'p'} ${target.authority} ${addresses.join(' ')}`;
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
  return {
    acquire(target, secure, addresses, fresh, callback) {
      if (fresh) retries++;
      const key = originPoolKey(target, secure, addresses);
      let pool = pools.get(key);
      if (pool === undefined) {
        pool = draining.get(key);
        draining.delete(key);
        if (pool === undefined) pool = new OriginPool(target, secure, addresses, options, (done) => { drained(key, done); });
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
