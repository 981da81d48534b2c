import { performance } from 'node:perf_hooks';
import type { ProxyConfig } from '../config/types.js';
import { createConnector, type Connector, type UpstreamFailure } from '../net/connector.js';
import { createKeyedRateGate } from '../observe/keyed-rate-gate.js';
import type { Logger } from '../observe/logger.js';

export interface UpstreamConnectorOptions {
  /** Clock for the failure lines' rate limit (ms); performance.now by default. */
  readonly now?: () => number;
}

/** A failure line per destination (or per upstream, for its 407) at most this often. */
const FAILURE_LOG_INTERVAL_MS = 10_000;
/** Destinations whose failure lines are rate-limited at once; past it the least recently failing is forgotten. */
const FAILURE_LOG_KEYS = 1024;

/**
 * The rate limit's key: a refusal of our credentials (407) is the upstream's whatever the
 * destination, so one line per upstream; any other failure is one destination's (down, unknown to
 * the upstream, timing out), so one line per destination through that upstream.
 */
const failureKey = (failure: UpstreamFailure): string => (failure.status === 407 ? `407 ${failure.proxy}` : `${failure.proxy} ${failure.target}`);

/**
 * The transport's connector, from upstream_proxy: says at start where allowed traffic leaves
 * (the proxies' URLs only, never their credentials), and logs failures at the upstream with
 * what it answered, next to the exchange's own line (which carries KZP_ERR_UPSTREAM_PROXY). Those
 * lines are rate-limited (one per destination, or per upstream for a 407, every 10 s, the next one
 * saying how many were held back in `suppressed`): when a destination is down every exchange to it
 * fails, and its own decision and closed lines already say so.
 */
export function createUpstreamConnector(config: Pick<ProxyConfig, 'upstreamProxy'>, logger: Logger, options: UpstreamConnectorOptions = {}): Connector {
  const settings = config.upstreamProxy;
  const log = logger.child({ component: 'upstream_proxy' });
  const gate = createKeyedRateGate(FAILURE_LOG_INTERVAL_MS, FAILURE_LOG_KEYS, options.now ?? (() => performance.now()));
  if (settings !== null) {
    for (const variable of settings.ignored) {
      log.warn({ variable }, `upstream_proxy is env and ${variable} names this proxy's own listener: ignored, so the proxy does not loop into itself`);
    }
    if (settings.https === null && settings.http === null) {
      log.warn({ source: settings.source }, 'upstream_proxy is env but neither HTTPS_PROXY nor HTTP_PROXY names a proxy: connections go direct');
    } else {
      log.info(
        { source: settings.source, tunnels: settings.https?.url ?? null, plain_http: settings.http?.url ?? null, no_proxy: settings.noProxy },
        'allowed traffic leaves through the upstream proxy',
      );
    }
  }
  return createConnector({
    upstream: settings,
    onUpstreamFailure: (failure) => {
      const passed = gate.pass(failureKey(failure));
      if (!passed.open) return;
      const refused = failure.status === 407 ? 'upstream proxy refused the credentials of upstream_proxy (407)' : 'upstream proxy failed';
      const fields = { upstream_proxy: failure.proxy, target: failure.target, detail: failure.detail, code: 'KZP_ERR_UPSTREAM_PROXY', suppressed: passed.suppressed };
      log.warn(failure.status === null ? fields : { ...fields, status: failure.status }, refused);
    },
  });
}
