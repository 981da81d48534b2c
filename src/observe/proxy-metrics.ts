import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { NO_ORIGIN_POOL_STATS, type OriginPoolStats } from '../contract/origin-pool-stats.js';
import { LOOP_DELAY_METRICS, LoopDelayGauges } from './loop-delay.js';
import { runningCounter } from './running-counter.js';

/**
 * prom-client's own event-loop monitor cannot be left out of its defaults: it is built with the
 * longest resolution Node takes (its timer never fires) and its gauges replaced by loop-delay.ts's.
 */
const PROM_CLIENT_LOOP_RESOLUTION_MS = 2 ** 31 - 1;

/** Live values read when /metrics is scraped (never pushed from the hot path). */
export interface MetricSources {
  readonly activeConnections: () => number;
  /** Tunnels open now. */
  readonly activeTunnels: () => number;
  readonly cacheEntries: () => number;
  /** Each agent's policy-sync status (its label reads 1, the others 0). */
  readonly policySync: () => readonly AgentPolicySync[];
  /** The plain-HTTP destination pools; none when absent. */
  readonly originPool?: () => OriginPoolStats;
}

export const POLICY_SYNC_STATUSES = ['none', 'pending', 'ok', 'failing'] as const;
export type PolicySyncStatus = (typeof POLICY_SYNC_STATUSES)[number];

/** One agent's policy sync: the configured agent and, in gateway mode, each identity of the credentials file. */
export interface AgentPolicySync {
  readonly agent: string;
  readonly status: PolicySyncStatus;
}

/**
 * Every Prometheus metric of one proxy, on a private Registry (no global singleton: two proxies in
 * one process, or two tests, never share counters). Names are `kaizen_proxy_*`; labels are small
 * closed sets (no targets, and no agents but the policy sync's, bounded by the credentials file).
 */
export interface ProxyMetrics {
  readonly registry: Registry;
  readonly actions: Counter<'kind' | 'decision' | 'source'>;
  readonly controlPlaneSeconds: Histogram<'outcome'>;
  readonly controlPlaneErrors: Counter<'code'>;
  readonly cacheMisses: Counter<'outcome'>;
  readonly bytes: Counter<'direction'>;
  readonly guardRefusals: Counter;
  readonly limitRefusals: Counter<'limit'>;
  readonly failOpen: Counter;
  readonly authFailures: Counter;
  readonly transparentRefusals: Counter<'reason'>;
  /** One decided action, counted in plain JS and added to `actions` at each scrape (prom-client hashes labels on every inc). */
  readonly countAction: (kind: string, decision: string, source: string) => void;
  /** One verdict served from the cache, added to the hits counter at each scrape. */
  readonly countCacheHit: () => void;
  /** Bytes of one finished exchange, added to `bytes` at each scrape. */
  readonly countBytes: (up: number, down: number) => void;
  /** The event-loop delay gauges, sampled while there is activity (the observer touches them on each connection and refusal). */
  readonly loopDelay: LoopDelayGauges;
}

type ActionLabels = Record<'kind' | 'decision' | 'source', string>;

/** Actions counted since the last scrape, for one set of labels. */
interface PendingCount {
  readonly labels: ActionLabels;
  count: number;
}

export function createProxyMetrics(sources: MetricSources): ProxyMetrics {
  const registry = new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: PROM_CLIENT_LOOP_RESOLUTION_MS });
  for (const name of LOOP_DELAY_METRICS) registry.removeSingleMetric(name);
  const loopDelay = new LoopDelayGauges(registers, () => sources.activeConnections() > 0);
  // Counts by kind, then decision, then source: three lookups of strings whose hashes V8 keeps,
  // where one key joined from the three made a new string to hash on every action.
  const pendingActions = new Map<string, Map<string, Map<string, PendingCount>>>();
  let pendingUp = 0;
  let pendingDown = 0;
  let pendingHits = 0;
  const metrics: ProxyMetrics = {
    registry,
    actions: new Counter({
      name: 'kaizen_proxy_actions_total',
      help: 'Actions decided, by kind (connect, http, tool_call), decision (allow, block) and source (guard, local, cache, stale, control_plane, fail_open, fail_closed).',
      labelNames: ['kind', 'decision', 'source'] as const,
      registers,
      collect() {
        for (const byDecision of pendingActions.values()) {
          for (const bySource of byDecision.values()) {
            for (const entry of bySource.values()) {
              if (entry.count === 0) continue;
              this.inc(entry.labels, entry.count);
              entry.count = 0;
            }
          }
        }
      },
    }),
    controlPlaneSeconds: new Histogram({
      name: 'kaizen_proxy_control_plane_duration_seconds',
      help: 'Time for one verdict exchange with the control plane, the retry included.',
      labelNames: ['outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5],
      registers,
    }),
    controlPlaneErrors: new Counter({
      name: 'kaizen_proxy_control_plane_errors_total',
      help: 'Verdict exchanges that failed, by error code.',
      labelNames: ['code'] as const,
      registers,
    }),
    cacheMisses: new Counter({
      name: 'kaizen_proxy_verdict_cache_misses_total',
      help: 'Lookups that asked the control plane, by outcome (fetched, stale: an expired verdict served, failed).',
      labelNames: ['outcome'] as const,
      registers,
    }),
    bytes: new Counter({
      name: 'kaizen_proxy_bytes_total',
      help: 'Bytes carried for clients: up (client to destination) and down.',
      labelNames: ['direction'] as const,
      registers,
      collect() {
        if (pendingUp > 0) this.inc({ direction: 'up' }, pendingUp);
        if (pendingDown > 0) this.inc({ direction: 'down' }, pendingDown);
        pendingUp = 0;
        pendingDown = 0;
      },
    }),
    guardRefusals: new Counter({ name: 'kaizen_proxy_guard_refusals_total', help: 'Actions refused by the address guard.', registers }),
    limitRefusals: new Counter({
      name: 'kaizen_proxy_limit_refusals_total',
      help: 'Clients refused by a limit (max_connections, max_connections_per_client, client_rate; descriptors: no file descriptor left).',
      labelNames: ['limit'] as const,
      registers,
    }),
    failOpen: new Counter({ name: 'kaizen_proxy_fail_open_total', help: 'Actions allowed without a verdict because fail mode is open.', registers }),
    authFailures: new Counter({ name: 'kaizen_proxy_gateway_auth_failures_total', help: 'Requests answered 407 in gateway mode.', registers }),
    transparentRefusals: new Counter({
      name: 'kaizen_proxy_transparent_unrecovered_total',
      help: 'Redirected connections whose destination could not be recovered, by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    countAction(kind, decision, source) {
      let byDecision = pendingActions.get(kind);
      if (byDecision === undefined) pendingActions.set(kind, (byDecision = new Map<string, Map<string, PendingCount>>()));
      let bySource = byDecision.get(decision);
      if (bySource === undefined) byDecision.set(decision, (bySource = new Map<string, PendingCount>()));
      const entry = bySource.get(source);
      if (entry === undefined) bySource.set(source, { labels: { kind, decision, source }, count: 1 });
      else entry.count++;
    },
    countCacheHit() {
      pendingHits++;
    },
    countBytes(up, down) {
      pendingUp += up;
      pendingDown += down;
    },
    loopDelay,
  };
  new Counter({
    name: 'kaizen_proxy_verdict_cache_hits_total',
    help: 'Verdicts served from the cache.',
    registers,
    collect() {
      if (pendingHits > 0) this.inc(pendingHits);
      pendingHits = 0;
    },
  });
  new Gauge({
    name: 'kaizen_proxy_active_tunnels',
    help: 'Tunnels (CONNECT, upgrades, transparent TLS) currently open.',
    registers,
    collect() {
      this.set(sources.activeTunnels());
    },
  });
  new Gauge({
    name: 'kaizen_proxy_active_connections',
    help: 'Client connections currently open.',
    registers,
    collect() {
      this.set(sources.activeConnections());
    },
  });
  new Gauge({
    name: 'kaizen_proxy_verdict_cache_entries',
    help: 'Verdicts held in the cache.',
    registers,
    collect() {
      this.set(sources.cacheEntries());
    },
  });
  new Gauge({
    name: 'kaizen_proxy_policy_sync_status',
    help: 'Local policy sync from the control plane, per agent served: 1 for its current status (none, pending, ok, failing).',
    labelNames: ['agent', 'status'] as const,
    registers,
    collect() {
      // An agent no longer served (gateway credentials reloaded) leaves no series behind.
      this.reset();
      for (const sync of sources.policySync()) {
        for (const status of POLICY_SYNC_STATUSES) this.set({ agent: sync.agent, status }, status === sync.status ? 1 : 0);
      }
    },
  });
  const originPool = sources.originPool ?? ((): OriginPoolStats => NO_ORIGIN_POOL_STATS);
  new Gauge({
    name: 'kaizen_proxy_origin_connections',
    help: 'Connections to destinations held for plain HTTP: active (carrying a request, or being opened) and idle (pooled).',
    labelNames: ['state'] as const,
    registers,
    collect() {
      const stats = originPool();
      this.set({ state: 'active' }, stats.active);
      this.set({ state: 'idle' }, stats.idle);
    },
  });
  new Gauge({
    name: 'kaizen_proxy_origin_requests_queued',
    help: 'Plain-HTTP requests waiting for a connection to a destination at its limit (256).',
    registers,
    collect() {
      this.set(originPool().queued);
    },
  });
  runningCounter(
    registers,
    'kaizen_proxy_origin_retries_total',
    'Requests without a body sent again on a fresh connection because the reused one turned out closed.',
    () => originPool().retries,
  );
  return metrics;
}
