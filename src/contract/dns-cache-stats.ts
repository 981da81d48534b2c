/**
 * The proxy's name-lookup cache at one moment (src/net/dns-cache.ts), read when /metrics is
 * scraped: names held, and the running counts of lookups sent to the system resolver and of
 * resolutions answered from the cache (or from a lookup already in flight).
 */
export interface DnsCacheStats {
  readonly entries: number;
  readonly lookups: number;
  readonly hits: number;
}
