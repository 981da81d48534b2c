import type { HostPort } from '../config/host-port.js';
import type { ProxyConfig } from '../config/types.js';
import type { DeciderMetrics } from '../contract/decider-metrics.js';
import type { OriginPoolStats } from '../contract/origin-pool-stats.js';
import type { ProxyObserver } from '../contract/observer.js';
import { createAdminServer } from '../observe/admin-server.js';
import { createControlPlaneState } from '../observe/control-plane-state.js';
import type { Logger } from '../observe/logger.js';
import { metricsObserver } from '../observe/metrics-observer.js';
import { createProxyMetrics, type AgentPolicySync, type ProxyMetrics } from '../observe/proxy-metrics.js';
import { Readiness } from '../observe/readiness.js';

export interface ObservabilitySources {
  readonly activeConnections: () => number;
  readonly activeTunnels: () => number;
  readonly cacheEntries: () => number;
  /** Local-policy sync from the control plane, per agent served; none listed when absent. */
  readonly policySync?: () => readonly AgentPolicySync[];
  /** The plain-HTTP destination pools. */
  readonly originPool?: () => OriginPoolStats;
}

export interface Observability {
  readonly metrics: ProxyMetrics;
  /** Hand to createDecider: control-plane latency and errors, cache hits and misses. */
  readonly deciderMetrics: DeciderMetrics;
  /** Hand to the transport: actions, bytes, tunnels, refusals. */
  readonly observer: ProxyObserver;
  readonly readiness: Readiness;
  /** Binds the admin listener when config.admin is set; the bound address, or null when off. */
  start(): Promise<HostPort | null>;
  close(): Promise<void>;
}

/**
 * Metrics, readiness and the admin listener of one proxy, built together so createProxy only
 * wires them: metrics live on a private registry, the admin port serves them with /healthz and
 * /readyz.
 */
export function createObservability(config: ProxyConfig, logger: Logger, sources: ObservabilitySources): Observability {
  const policySync = sources.policySync ?? ((): readonly AgentPolicySync[] => []);
  const metrics = createProxyMetrics({
    activeConnections: sources.activeConnections,
    activeTunnels: sources.activeTunnels,
    cacheEntries: sources.cacheEntries,
    policySync,
    ...(sources.originPool === undefined ? {} : { originPool: sources.originPool }),
  });
  const controlPlane = createControlPlaneState(metrics, config.controlPlane.apiKey !== null);
  const readiness = new Readiness(() => controlPlane.current, policySync);
  const admin = config.admin === null ? null : createAdminServer({ readiness, registry: metrics.registry, logger: logger.child({ component: 'admin' }) });
  return {
    metrics,
    deciderMetrics: controlPlane,
    observer: metricsObserver(metrics),
    readiness,
    async start() {
      if (admin === null || config.admin === null) return null;
      const bound = await admin.listen(config.admin.host, config.admin.port);
      return { host: bound.address, port: bound.port };
    },
    async close() {
      metrics.loopDelay.close();
      await admin?.close();
    },
  };
}
