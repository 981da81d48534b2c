import { Gauge, type Registry } from 'prom-client';
import type { DnsCacheStats } from '../contract/dns-cache-stats.js';
import { runningCounter } from './running-counter.js';

/** The name-lookup cache's metrics on the proxy's registry, read from `source` at each scrape. */
export function createDnsMetrics(registry: Registry, source: () => DnsCacheStats): void {
  const registers = [registry];
  new Gauge({
    name: 'kaizen_proxy_dns_cache_entries',
    help: 'Names held by the lookup cache (answers, failures and lookups in flight).',
    registers,
    collect() {
      this.set(source().entries);
    },
  });
  runningCounter(registers, 'kaizen_proxy_dns_lookups_total', 'Name lookups sent to the system resolver (/etc/hosts, then DNS).', () => source().lookups);
  runningCounter(registers, 'kaizen_proxy_dns_cache_hits_total', 'Name resolutions answered by the lookup cache or by a lookup already in flight.', () => source().hits);
  runningCounter(registers, 'kaizen_proxy_dns_stale_answers_total', 'Failed name lookups answered with the name\'s last answer (network.dns_stale_if_error).', () => source().stale);
}
