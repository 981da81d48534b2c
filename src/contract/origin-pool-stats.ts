/**
 * The plain-HTTP destination pools at one moment (src/proxy/origin-pools.ts), read when /metrics is
 * scraped: connections carrying a request, connections idle in a pool, requests waiting for a
 * connection (a destination at its limit), and the running count of requests sent again because a
 * reused connection turned out closed.
 */
export interface OriginPoolStats {
  readonly active: number;
  readonly idle: number;
  readonly queued: number;
  readonly retries: number;
}

export const NO_ORIGIN_POOL_STATS: OriginPoolStats = Object.freeze({ active: 0, idle: 0, queued: 0, retries: 0 });
