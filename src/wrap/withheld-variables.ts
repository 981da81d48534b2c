import { npmKeyOf } from './npm-proxy.js';

/**
 * The proxy variables the command gets values of its own for: the generic ones in both cases
 * (child-env.ts), pip's PIP_PROXY (pip-proxy.ts: a non-empty one is always replaced) and npm's
 * proxy settings in any spelling (npm-proxy.ts).
 */
const PROXY_VARIABLES = new Set(['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'PIP_PROXY']);

function isProxyVariable(name: string): boolean {
  const npm = npmKeyOf(name);
  return PROXY_VARIABLES.has(name) || npm === 'proxy' || npm === 'https-proxy';
}

/**
 * Which of the wrapper's own environment variables are the command's business to never read:
 * KAIZEN_API_KEY (the monitoring system's credential) unless --pass-api-key hands it over, and a
 * proxy variable that carries credentials (an upstream proxy's user and password), which the
 * command's environment replaces anyway.
 */
export function withheldFromCommand(passApiKey: boolean): (name: string, value: string) => boolean {
  return (name, value) => (name === 'KAIZEN_API_KEY' && !passApiKey) || (isProxyVariable(name) && carriesCredentials(value));
}

/** Userinfo in a proxy URL, with or without its scheme (`user:pass@proxy:3128` is read as http://). */
function carriesCredentials(value: string): boolean {
  const authority = value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split(/[/?#]/, 1)[0] ?? '';
  return authority.includes('@');
}
