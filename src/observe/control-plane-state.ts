import type { CacheOutcome, DeciderMetrics } from '../contract/decider-metrics.js';
import type { ErrorCode } from '../errors/codes.js';
import type { ProxyMetrics } from './proxy-metrics.js';

/** What /readyz reports about the control plane (it never fails readiness: fail mode handles that). */
export type ControlPlaneStatus =
  | { readonly status: 'none' }
  | { readonly status: 'unknown' }
  | { readonly status: 'ok'; readonly at: string }
  | { readonly status: 'failing'; readonly code: ErrorCode; readonly at: string; readonly since: string };

export interface ControlPlaneState extends DeciderMetrics {
  readonly current: ControlPlaneStatus;
}

/**
 * The decider's metrics hook: latency histogram, errors and cache counters, plus the outcome of the
 * latest exchange (with when the current run of failures began) for /readyz.
 */
export function createControlPlaneState(metrics: ProxyMetrics, hasAccount: boolean, clock: () => Date = () => new Date()): ControlPlaneState {
  let current: ControlPlaneStatus = hasAccount ? { status: 'unknown' } : { status: 'none' };
  return {
    get current() {
      return current;
    },
    controlPlaneCall(seconds, error) {
      metrics.controlPlaneSeconds.observe({ outcome: error === null ? 'ok' : 'error' }, seconds);
      const at = clock().toISOString();
      if (error === null) {
        current = { status: 'ok', at };
        return;
      }
      metrics.controlPlaneErrors.inc({ code: error });
      current = { status: 'failing', code: error, at, since: current.status === 'failing' ? current.since : at };
    },
    cacheLookup(outcome: CacheOutcome) {
      if (outcome === 'hit') metrics.countCacheHit();
      else metrics.cacheMisses.inc({ outcome: outcome === 'miss' ? 'fetched' : outcome });
    },
  };
}
