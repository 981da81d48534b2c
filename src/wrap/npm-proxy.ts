import { proxyUrl, type ChildEnvLayer, type MutableEnv } from './child-env.js';
import { mergeNoProxy } from './no-proxy.js';

/**
 * npm's own proxy settings, by the name npm gives them once it has read an environment variable:
 * `npm_config_` in any case, then `_` turned into `-` and lower-cased (@npmcli/config loadEnv).
 */
const NPM_KEYS = ['proxy', 'https-proxy', 'noproxy'] as const;
type NpmKey = (typeof NPM_KEYS)[number];

/** The npm setting an environment variable names, or null for any other variable. */
export function npmKeyOf(name: string): NpmKey | null {
  if (!/^npm_config_/i.test(name)) return null;
  const key = name.slice('npm_config_'.length).replace(/(?!^)_/g, '-').toLowerCase();
  return (NPM_KEYS as readonly string[]).includes(key) ? (key as NpmKey) : null;
}

/**
 * npm prefers its `proxy`, `https-proxy` and `noproxy` settings to HTTP_PROXY and NO_PROXY, and
 * reads them from `npm_config_*` variables before any npmrc (project, user, global): a user's
 * `proxy=` in ~/.npmrc, or an inherited `npm_config_https_proxy`, would send npm around the proxy
 * (on Node versions where the preload leaves npm's own agents alone). The child's npm gets the
 * proxy for both, and for noproxy the child's NO_PROXY plus the user's own npm_config_noproxy
 * entries (a bare `*` dropped, as for NO_PROXY); an npmrc's noproxy is replaced, not merged.
 */
export const npmProxyLayer: ChildEnvLayer = {
  name: 'npm',
  apply(env, proxy) {
    const userNoProxy: string[] = [];
    for (const name of Object.keys(env)) {
      const key = npmKeyOf(name);
      if (key === null) continue;
      if (key === 'noproxy') userNoProxy.push(env[name] ?? '');
      Reflect.deleteProperty(env, name);
    }
    const url = proxyUrl(proxy);
    env['npm_config_proxy'] = url;
    env['npm_config_https_proxy'] = url;
    env['npm_config_noproxy'] = npmNoProxy(env, userNoProxy);
  },
};

function npmNoProxy(env: MutableEnv, userEntries: readonly string[]): string {
  return mergeNoProxy({ NO_PROXY: env['NO_PROXY'], no_proxy: userEntries.join(',') }).entries.join(',');
}
