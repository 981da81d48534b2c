import { isIP } from 'node:net';

/**
 * An upstream (corporate) proxy that allowed traffic leaves through. Only `http://` proxies are
 * supported: tunnels use CONNECT, plain requests absolute-form. The credentials are kept apart
 * from `url`, the only form ever logged or printed; `password` is redacted by check-config.
 */
export interface UpstreamProxy {
  /** `http://host:port`, never with credentials. */
  readonly url: string;
  /** Host name or IP literal (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  readonly username: string | null;
  readonly password: string | null;
}

/** What the proxy chains through, resolved once at load from `upstream_proxy` (a URL or `env`). */
export interface UpstreamProxySettings {
  /** `config`: upstream_proxy named a URL; `env`: the proxy's own HTTPS_PROXY/HTTP_PROXY/NO_PROXY. */
  readonly source: 'config' | 'env';
  /** Tunnels (CONNECT, WebSocket, redirected TLS), https:// requests, and an https:// control plane. */
  readonly https: UpstreamProxy | null;
  /** Plain http:// requests (sent absolute-form) and an http:// control plane. */
  readonly http: UpstreamProxy | null;
  /** Destinations reached directly: upstream_no_proxy, plus NO_PROXY when the source is env. */
  readonly noProxy: readonly string[];
  /** Env variables left out because they named this proxy's own listener (a loop), to warn about. */
  readonly ignored: readonly string[];
}

/** Which of the two proxies a connection takes: `tunnel` for byte streams and TLS, `http` for plain requests. */
export type UpstreamUse = 'tunnel' | 'http';

const DEFAULT_PROXY_PORT = 80;

/**
 * Parse `http://[user:pass@]host[:port]` (a missing scheme is taken as http://, as curl does).
 * Returns an error message that never repeats the input (it may carry a password).
 */
export function parseUpstreamProxyUrl(text: string): UpstreamProxy | string {
  const trimmed = text.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    return 'expected an upstream proxy URL such as http://user:pass@proxy.corp:3128';
  }
  if (url.protocol !== 'http:') return 'only http:// upstream proxies are supported (CONNECT for tunnels, absolute-form for plain requests)';
  if (url.hostname === '') return 'expected a host in the upstream proxy URL';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    return 'expected an upstream proxy URL without a path, query or fragment';
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? DEFAULT_PROXY_PORT : Number(url.port);
  const shown = isIP(host) === 6 ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    host,
    port,
    username: url.username === '' ? null : safeDecode(url.username),
    password: url.password === '' ? null : safeDecode(url.password),
  };
}

/** `Proxy-Authorization` for the upstream, or null when it takes none. */
export function proxyAuthorization(proxy: UpstreamProxy): string | null {
  if (proxy.username === null && proxy.password === null) return null;
  return `Basic ${Buffer.from(`${proxy.username ?? ''}:${proxy.password ?? ''}`).toString('base64')}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
