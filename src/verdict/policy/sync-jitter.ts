/** The share of the interval a wait between two syncs may be shortened by. */
export const SYNC_JITTER = 0.1;

/**
 * The wait before an agent's next policy sync, for a draw in [0, 1) (Math.random's): from 90% of
 * the interval (draw 0) up to all of it, in whole milliseconds. Each wait is drawn anew, as Envoy's
 * and Consul's clients jitter their refreshes, so the syncs of many agents (a gateway's identities,
 * the sidecars of one rollout) that started together drift apart instead of reaching the control
 * plane in one burst every interval. Never longer than the interval: a change at the control plane
 * is still in force within `policy_sync.interval`.
 */
export function jitteredInterval(intervalMs: number, draw: number): number {
  const unit = Math.min(Math.max(draw, 0), 1);
  return intervalMs - Math.round(intervalMs * SYNC_JITTER * (1 - unit));
}
