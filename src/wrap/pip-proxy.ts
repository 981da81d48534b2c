import { proxyUrl, type ChildEnvLayer } from './child-env.js';

/**
 * pip's `--proxy`, which PIP_PROXY sets above every pip.conf, replaces HTTP_PROXY and HTTPS_PROXY
 * and ignores NO_PROXY. An inherited PIP_PROXY naming another proxy would send pip around this
 * one, so a non-empty one is pointed at the proxy (pip skips an empty one). None is added where
 * the parent had none: pip then honours the child's NO_PROXY (a package index on loopback stays
 * direct), and a `proxy =` in a pip.conf is a limit of wrap mode (README).
 */
export const pipProxyLayer: ChildEnvLayer = {
  name: 'pip',
  apply(env, proxy) {
    const inherited = env['PIP_PROXY'];
    if (inherited !== undefined && inherited !== '') env['PIP_PROXY'] = proxyUrl(proxy);
  },
};
