import type { ProxyObserver } from '../contract/observer.js';
import type { ProxyMetrics } from './proxy-metrics.js';

/**
 * The transport's event stream turned into Prometheus counters. Open tunnels are not counted here:
 * the transport counts them on each exchange (kaizen_proxy_active_tunnels reads it at a scrape),
 * since one tunnel may carry more than one decision (its CONNECT, then an SNI naming another host).
 */
export function metricsObserver(metrics: ProxyMetrics): ProxyObserver {
  return {
    accepted() {
      // Sampling the event loop starts with the first connection after idle (loop-delay.ts).
      metrics.loopDelay.touch();
    },
    decided({ action, decision }) {
      metrics.countAction(action.kind, decision.decision, decision.source);
      if (decision.source === 'guard' && decision.enforce === 'refuse') metrics.guardRefusals.inc();
      if (decision.source === 'fail_open') metrics.failOpen.inc();
      if (decision.source === 'limit') metrics.limitRefusals.inc({ limit: 'client_rate' });
    },
    closed({ bytesUp, bytesDown }) {
      metrics.countBytes(bytesUp, bytesDown);
    },
    refused({ code, reason }) {
      metrics.loopDelay.touch();
      if (code === 'KZP_ERR_LIMIT_CONNECTIONS' || code === 'KZP_ERR_LIMIT_CLIENT_CONNECTIONS') metrics.limitRefusals.inc({ limit: reason });
      else if (code === 'KZP_ERR_PROXY_AUTH') metrics.authFailures.inc();
      else if (code === 'KZP_ERR_TRANSPARENT_DESTINATION') metrics.transparentRefusals.inc({ reason });
    },
    exhausted() {
      // Out of file descriptors, on a dial or an accept: a limit of the proxy's own, beside max_connections.
      metrics.limitRefusals.inc({ limit: 'descriptors' });
    },
  };
}
