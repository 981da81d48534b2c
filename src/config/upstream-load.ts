import { createOwnListeners } from '../net/own-listeners.js';
import { splitNoProxy, normaliseNoProxyEntry } from '../net/no-proxy-rules.js';
import { parseIp } from '../net/ip-address.js';
import { parseUpstreamProxyUrl, type UpstreamProxy, type UpstreamProxySettings } from '../net/upstream-proxy.js';
import type { HostPort } from './host-port.js';

export type UpstreamLoad =
  | { readonly ok: true; readonly settings: UpstreamProxySettings | null }
  | { readonly ok: false; readonly where: string | null; readonly message: string };

const LOOP = "names this proxy's own listener (a loop)";

/**
 * `upstream_proxy` as the proxy uses it. A URL serves tunnels and plain requests alike; `env` reads
 * this process's own https_proxy/HTTPS_PROXY (tunnels, https://), http_proxy/HTTP_PROXY (plain
 * http://) and no_proxy/NO_PROXY, lower case first as curl does. A malformed variable is an error
 * naming it (never its value, which may hold a password); NO_PROXY entries we cannot read are
 * skipped. A proxy that is this proxy itself (`listeners`) is an error when configured, and
 * ignored when it comes from the environment (a wrapper's or a pod's own HTTPS_PROXY, say).
 */
export function resolveUpstreamProxy(value: string | null, noProxy: readonly string[], env: NodeJS.ProcessEnv, listeners: readonly HostPort[]): UpstreamLoad {
  if (value === null) return { ok: true, settings: null };
  const isSelf = selfCheck(listeners);
  if (value !== 'env') {
    const proxy = parseUpstreamProxyUrl(value);
    if (typeof proxy === 'string') return { ok: false, where: null, message: proxy };
    if (isSelf(proxy)) return { ok: false, where: null, message: `the upstream proxy ${proxy.url} ${LOOP}` };
    return { ok: true, settings: { source: 'config', https: proxy, http: proxy, noProxy, ignored: [] } };
  }
  const ignored: string[] = [];
  const https = fromEnv(env, ['https_proxy', 'HTTPS_PROXY']);
  if (!https.ok) return https;
  const http = fromEnv(env, ['http_proxy', 'HTTP_PROXY']);
  if (!http.ok) return http;
  const keep = (found: { readonly name: string; readonly proxy: UpstreamProxy } | null): UpstreamProxy | null => {
    if (found === null) return null;
    if (!isSelf(found.proxy)) return found.proxy;
    ignored.push(found.name);
    return null;
  };
  const envNoProxy = splitNoProxy(firstSet(env, ['no_proxy', 'NO_PROXY'])?.value ?? '')
    .map(normaliseNoProxyEntry)
    .filter((entry): entry is string => typeof entry === 'string');
  return { ok: true, settings: { source: 'env', https: keep(https.found), http: keep(http.found), noProxy: [...noProxy, ...envNoProxy], ignored } };
}

type FromEnv =
  | { readonly ok: true; readonly found: { readonly name: string; readonly proxy: UpstreamProxy } | null }
  | { readonly ok: false; readonly where: string; readonly message: string };

function fromEnv(env: NodeJS.ProcessEnv, names: readonly string[]): FromEnv {
  const found = firstSet(env, names);
  if (found === undefined) return { ok: true, found: null };
  const proxy = parseUpstreamProxyUrl(found.value);
  if (typeof proxy === 'string') return { ok: false, where: `env ${found.name}`, message: `${proxy} (upstream_proxy is env)` };
  return { ok: true, found: { name: found.name, proxy } };
}

function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): { readonly name: string; readonly value: string } | undefined {
  for (const name of names) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') return { name, value };
  }
  return undefined;
}

/** Whether a proxy is one of our listeners: an IP literal (or `localhost`) at a listener's port. Names are not resolved. */
function selfCheck(listeners: readonly HostPort[]): (proxy: UpstreamProxy) => boolean {
  const own = createOwnListeners();
  own.set(listeners.filter((listener) => listener.port !== 0).map((listener) => ({ address: listener.host, port: listener.port })));
  return (proxy) => {
    const hosts = proxy.host.toLowerCase() === 'localhost' ? ['127.0.0.1', '::1'] : [proxy.host];
    return hosts.some((host) => {
      const ip = parseIp(host);
      return ip !== undefined && own.includes(ip, proxy.port);
    });
  };
}
