/** Samples the proxy process over time: RSS from /proc, event-loop delay and counters from the admin /metrics. */
import { readFileSync } from 'node:fs';

export interface Sample {
  readonly seconds: number;
  /** The control plane's phase: up, refused, 503 or slow. */
  readonly controlPlane: string;
  readonly rssMiB: number;
  /** Event-loop delay over the sampling interval (prom-client's monitorEventLoopDelay), ms. */
  readonly loopP99Ms: number;
  readonly loopMaxMs: number;
  readonly sent: number;
  readonly spooled: number;
  readonly replayed: number;
  readonly dropped: number;
  readonly pending: number;
  readonly actions: number;
}

export async function scrapeMetrics(adminPort: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const sum = (metrics: Map<string, number>, prefix: string): number => {
  let total = 0;
  for (const [name, value] of metrics) if (name === prefix || name.startsWith(`${prefix}{`)) total += value;
  return total;
};

export function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) * 1024;
}

export async function takeSample(pid: number, adminPort: number, seconds: number, controlPlane: string): Promise<Sample> {
  const metrics = await scrapeMetrics(adminPort);
  return {
    seconds,
    controlPlane,
    rssMiB: rssOf(pid) / 1024 / 1024,
    loopP99Ms: (metrics.get('nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000,
    loopMaxMs: (metrics.get('nodejs_eventloop_lag_max_seconds') ?? 0) * 1000,
    sent: metrics.get('kaizen_proxy_control_plane_duration_seconds_count{outcome="ok"}') ?? 0,
    spooled: metrics.get('kaizen_proxy_spool_spooled_total') ?? 0,
    replayed: metrics.get('kaizen_proxy_spool_replayed_total') ?? 0,
    dropped: sum(metrics, 'kaizen_proxy_spool_dropped_total'),
    pending: metrics.get('kaizen_proxy_spool_pending_entries') ?? 0,
    actions: sum(metrics, 'kaizen_proxy_actions_total'),
  };
}

export function formatSample(sample: Sample): string {
  const cells = [
    `${String(Math.round(sample.seconds)).padStart(5)}s`,
    sample.controlPlane.padEnd(8),
    `${sample.rssMiB.toFixed(1).padStart(7)} MiB`,
    `p99 ${sample.loopP99Ms.toFixed(1).padStart(6)} ms`,
    `max ${sample.loopMaxMs.toFixed(1).padStart(6)} ms`,
    `actions ${String(sample.actions).padStart(7)}`,
    `sent ${String(sample.sent).padStart(6)}`,
    `spooled ${String(sample.spooled).padStart(6)}`,
    `replayed ${String(sample.replayed).padStart(6)}`,
    `dropped ${String(sample.dropped).padStart(3)}`,
    `pending ${String(sample.pending).padStart(5)}`,
  ];
  return cells.join('  ');
}
