import type { Action } from '../contract/action.js';
import type { ProxyObserver } from '../contract/observer.js';
import type { ProxyMetrics } from './proxy-metrics.js';

/** Tunnels: CONNECT (and transparent TLS) as `connect` actions, WebSocket upgrades as ws/wss requests. */
function isTunnel(action: Action): boolean {
  return action.kind === 'connect' || action.metadata.scheme === 'ws' || action.metadata.scheme === 'wss';
}

/**
 * The transport's event stream turned into Prometheus counters. A tunnel counts as active from its
 * allow until its `closed` event (a dial that fails closes it at once); the pairing is by action
 * object, so a tunnel is never counted down twice.
 */
export function metricsObserver(metrics: ProxyMetrics): ProxyObserver {
  const openTunnels = new WeakSet<Action>();
  return {
    decided({ action, decision }) {
      metrics.countAction(action.kind, decision.decision, decision.source);
      if (decision.source === 'guard' && decision.enforce === 'refuse') metrics.guardRefusals.inc();
      if (decision.source === 'fail_open') metrics.failOpen.inc();
      if (decision.source === 'limit') metrics.limitRefusals.inc({ limit: 'client_rate' });
      if (decision.enforce === 'forward' && isTunnel(action) && !openTunnels.has(action)) {
        openTunnels.add(action);
        metrics.countTunnel(1);
      }
    },
    closed({ action, bytesUp, bytesDown }) {
      metrics.countBytes(bytesUp, bytesDown);
      if (openTunnels.delete(action)) metrics.countTunnel(-1);
    },
    refused({ code, reason }) {
      if (code === 'KZP_ERR_LIMIT_CONNECTIONS' || code === 'KZP_ERR_LIMIT_CLIENT_CONNECTIONS') metrics.limitRefusals.inc({ limit: reason });
      else if (code === 'KZP_ERR_PROXY_AUTH') metrics.authFailures.inc();
      else if (code === 'KZP_ERR_TRANSPARENT_DESTINATION') metrics.transparentRefusals.inc({ reason });
    },
  };
}
