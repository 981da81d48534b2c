import { Counter, type Registry } from 'prom-client';

/**
 * A Prometheus counter that follows a running count kept elsewhere (the origin pools' retries,
 * the DNS cache's lookups): nothing on the hot path, the difference added at each scrape.
 */
export function runningCounter(registers: Registry[], name: string, help: string, read: () => number): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers,
    collect() {
      const now = read();
      if (now > seen) this.inc(now - seen);
      seen = now;
    },
  });
}
