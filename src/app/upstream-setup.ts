import type { ProxyConfig } from '../config/types.js';
import { createConnector, type Connector } from '../net/connector.js';
import type { Logger } from '../observe/logger.js';

/**
 * The transport's connector, from upstream_proxy: says at start where allowed traffic leaves
 * (the proxies' URLs only, never their credentials), and logs each failure at the upstream with
 * what it answered, next to the exchange's own line (which carries KZP_ERR_UPSTREAM_PROXY).
 */
export function createUpstreamConnector(config: Pick<ProxyConfig, 'upstreamProxy'>, logger: Logger): Connector {
  const settings = config.upstreamProxy;
  const log = logger.child({ component: 'upstream_proxy' });
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
      const refused = failure.status === 407 ? 'upstream proxy refused the credentials of upstream_proxy (407)' : 'upstream proxy failed';
      log.warn({ upstream_proxy: failure.proxy, target: failure.target, detail: failure.detail, code: 'KZP_ERR_UPSTREAM_PROXY' }, refused);
    },
  });
}
