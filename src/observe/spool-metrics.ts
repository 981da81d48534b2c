import { Counter, Gauge, type Registry } from 'prom-client';
import { SPOOL_DROP_REASONS, type SpoolMetrics } from '../contract/spool-metrics.js';

/** What the spool holds right now, read when /metrics is scraped. */
export interface SpoolGaugeSource {
  readonly pending: number;
  readonly bytes: number;
}

/**
 * The report spool's metrics on the proxy's registry: actions spooled, replayed and dropped (by
 * reason), and the entries and bytes waiting. Dropped actions are the ones an operator alerts on.
 */
export function createSpoolMetrics(registry: Registry, source: () => SpoolGaugeSource | null): SpoolMetrics {
  const registers = [registry];
  const spooled = new Counter({
    name: 'kaizen_proxy_spool_spooled_total',
    help: 'Actions written to the spool because the control plane did not get them when they happened.',
    registers,
  });
  const replayed = new Counter({
    name: 'kaizen_proxy_spool_replayed_total',
    help: 'Spooled actions acknowledged by the control plane on replay.',
    registers,
  });
  const dropped = new Counter({
    name: 'kaizen_proxy_spool_dropped_total',
    help: 'Actions that will never reach the control plane, by reason (overflow: spool.max_bytes reached, oldest first; rejected: refused for good by the control plane; unreadable; too_large; unavailable: no spool).',
    labelNames: ['reason'] as const,
    registers,
  });
  for (const reason of SPOOL_DROP_REASONS) dropped.inc({ reason }, 0);
  new Gauge({
    name: 'kaizen_proxy_spool_pending_entries',
    help: 'Spooled actions waiting for the control plane.',
    registers,
    collect() {
      this.set(source()?.pending ?? 0);
    },
  });
  new Gauge({
    name: 'kaizen_proxy_spool_bytes',
    help: 'Bytes the spool holds in data_dir (bounded by spool.max_bytes).',
    registers,
    collect() {
      this.set(source()?.bytes ?? 0);
    },
  });
  return {
    spooled: () => {
      spooled.inc();
    },
    replayed: () => {
      replayed.inc();
    },
    dropped: (reason, count) => {
      dropped.inc({ reason }, count);
    },
  };
}
