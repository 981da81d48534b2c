import { proxyUrl, type ChildEnvLayer, type MutableEnv } from './child-env.js';

/**
 * git prefers `http.proxy` from its config files to the proxy variables. GIT_CONFIG_COUNT and its
 * GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n pairs are read after every file, so one more pair,
 * `http.proxy`, overrides a user's or a repository's (git still honours NO_PROXY with it). The
 * pair is appended to the parent's own; a count git would refuse ("bogus count") is left for git
 * to refuse. GIT_CONFIG_PARAMETERS (what `git -c` hands its children) is read after those pairs:
 * an inherited one gets `http.proxy` appended too. A more specific `http.<url>.proxy` in a file
 * still wins: a limit of wrap mode (README).
 */
export const gitProxyLayer: ChildEnvLayer = {
  name: 'git',
  apply(env, proxy) {
    const url = proxyUrl(proxy);
    appendCountedPair(env, url);
    const parameters = env['GIT_CONFIG_PARAMETERS'];
    // The old one-quoted `'key=value'` form, which every git that reads this variable parses.
    if (parameters !== undefined && parameters.trim() !== '') env['GIT_CONFIG_PARAMETERS'] = `${parameters} 'http.proxy=${url}'`;
  },
};

function appendCountedPair(env: MutableEnv, url: string): void {
  const raw = env['GIT_CONFIG_COUNT'];
  if (raw !== undefined && raw !== '' && !/^\d+$/.test(raw)) return;
  const count = raw === undefined || raw === '' ? 0 : Number(raw);
  if (!Number.isSafeInteger(count)) return;
  env[`GIT_CONFIG_KEY_${count}`] = 'http.proxy';
  env[`GIT_CONFIG_VALUE_${count}`] = url;
  env['GIT_CONFIG_COUNT'] = String(count + 1);
}
