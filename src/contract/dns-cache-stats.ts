/**
 * The proxy's name-lookup cache at one moment (src/net/dns-cache.ts), read when /metrics is
 * scraped: names held, and the running counts of lookups sent to the system resolver, of
 * resolutions answered from the cache (or from a lookup already in flight), and of failed lookups
 * answered with a stale answer.
 */
export interface DnsCacheStats {
  readonly entries: number;
  readonly lookups: number;
  readonly hits: number;
  /** Failed lookups answered with the name's last answer (network.dns_stale_if_error). */
  readonly stale: number;
}
