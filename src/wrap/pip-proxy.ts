import { proxyUrl, type ChildEnvLayer } from './child-env.js';
import { pipConfigNamesProxy } from './pip-config-proxy.js';

/**
 * pip's `--proxy`, which PIP_PROXY sets above every pip.conf, replaces HTTP_PROXY and HTTPS_PROXY
 * and ignores NO_PROXY. An inherited PIP_PROXY, or a pip.conf `proxy =`, naming another proxy
 * would send pip around this one, so then PIP_PROXY names the proxy (pip skips an empty one).
 * None is added otherwise: pip then honours the child's NO_PROXY (a package index on loopback
 * stays direct), which a pip told of a proxy already did not.
 */
export function pipProxyLayer(namesProxy: (env: NodeJS.ProcessEnv) => boolean = pipConfigNamesProxy): ChildEnvLayer {
  return {
    name: 'pip',
    apply(env, proxy) {
      const inherited = env['PIP_PROXY'];
      if ((inherited !== undefined && inherited !== '') || namesProxy(env)) env['PIP_PROXY'] = proxyUrl(proxy);
    },
  };
}
