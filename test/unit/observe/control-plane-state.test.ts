import { describe, expect, it } from 'vitest';
import { createControlPlaneState } from '../../../src/observe/control-plane-state.js';
import { createProxyMetrics } from '../../../src/observe/proxy-metrics.js';

function setup(hasAccount: boolean) {
  const metrics = createProxyMetrics({ activeConnections: () => 0, activeTunnels: () => 0, cacheEntries: () => 3, policySync: () => [{ agent: 'ops-bot', status: 'ok' }, { agent: 'billing-bot', status: 'failing' }] });
  let now = Date.parse('2026-01-01T00:00:00Z');
  const clock = () => new Date((now += 1000));
  return { metrics, state: createControlPlaneState(metrics, hasAccount, clock) };
}

describe('control-plane state and decider metrics', () => {
  it('reports none without an account and unknown before the first call', () => {
    expect(setup(false).state.current).toEqual({ status: 'none' });
    expect(setup(true).state.current).toEqual({ status: 'unknown' });
  });

  it('tracks the latest outcome, keeping when a run of failures began', () => {
    const { state } = setup(true);
    state.controlPlaneCall(0.02, null);
    expect(state.current).toEqual({ status: 'ok', at: '2026-01-01T00:00:01.000Z' });
    state.controlPlaneCall(1.5, 'KZP_ERR_CONTROL_PLANE_TIMEOUT');
    state.controlPlaneCall(0.3, 'KZP_ERR_CONTROL_PLANE_HTTP');
    expect(state.current).toEqual({ status: 'failing', code: 'KZP_ERR_CONTROL_PLANE_HTTP', at: '2026-01-01T00:00:03.000Z', since: '2026-01-01T00:00:02.000Z' });
    state.controlPlaneCall(0.01, null);
    expect(state.current.status).toBe('ok');
  });

  it('feeds the latency histogram, error counter and cache counters', async () => {
    const { metrics, state } = setup(true);
    state.controlPlaneCall(0.02, null);
    state.controlPlaneCall(2, 'KZP_ERR_CONTROL_PLANE_TIMEOUT');
    for (const outcome of ['hit', 'hit', 'miss', 'stale', 'failed'] as const) state.cacheLookup(outcome);
    const text = await metrics.registry.metrics();
    expect(text).toContain('kaizen_proxy_control_plane_duration_seconds_bucket{le="0.025",outcome="ok"} 1');
    expect(text).toContain('kaizen_proxy_control_plane_duration_seconds_count{outcome="error"} 1');
    expect(text).toContain('kaizen_proxy_control_plane_errors_total{code="KZP_ERR_CONTROL_PLANE_TIMEOUT"} 1');
    expect(text).toContain('kaizen_proxy_verdict_cache_hits_total 2');
    expect(text).toContain('kaizen_proxy_verdict_cache_misses_total{outcome="fetched"} 1');
    expect(text).toContain('kaizen_proxy_verdict_cache_misses_total{outcome="stale"} 1');
    expect(text).toContain('kaizen_proxy_verdict_cache_entries 3');
    expect(text).toContain('kaizen_proxy_policy_sync_status{agent="ops-bot",status="ok"} 1');
    expect(text).toContain('kaizen_proxy_policy_sync_status{agent="ops-bot",status="failing"} 0');
    expect(text).toContain('kaizen_proxy_policy_sync_status{agent="billing-bot",status="failing"} 1');
  });

  it('keeps two proxies apart: each has its own registry', async () => {
    const a = setup(true);
    const b = setup(true);
    a.state.cacheLookup('hit');
    expect(await b.metrics.registry.metrics()).toContain('kaizen_proxy_verdict_cache_hits_total 0');
  });
});
