import { createConnector } from '../../src/net/connector.js';
import { parseUpstreamProxyUrl } from '../../src/net/upstream-proxy.js';
import { createFakeDecider } from './fake-decider.js';
import type { PassthroughParent } from './passthrough-parent.js';
import { startProxy, type StartedProxy, type StartProxyOptions } from './start-proxy.js';

/**
 * Two proxies alike but for their route to destinations: the first goes straight, the second
 * through `parent` with Basic credentials `user`/`password` (upstream_proxy, for HTTP and HTTPS).
 * Both allow everything and resolve every name to 127.0.0.1; `options` apply to both.
 */
export async function startDirectAndViaParent(
  parent: PassthroughParent,
  user: string,
  password: string,
  options: StartProxyOptions = {},
): Promise<[direct: StartedProxy, viaParent: StartedProxy]> {
  const upstream = parseUpstreamProxyUrl(`http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${String(parent.port)}`);
  if (typeof upstream === 'string') throw new Error(upstream);
  const common: StartProxyOptions = {
    decider: createFakeDecider(),
    resolve: () => Promise.resolve({ ok: true as const, addresses: ['127.0.0.1'] }),
    ...options,
  };
  const connector = createConnector({ upstream: { source: 'config', https: upstream, http: upstream, noProxy: [], ignored: [] } });
  return Promise.all([startProxy(common), startProxy({ ...common, connector })]);
}
