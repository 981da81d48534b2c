import { Pool, ProxyAgent, type Dispatcher } from 'undici';
import { compileNoProxy } from '../net/no-proxy-rules.js';
import { proxyAuthorization, type UpstreamProxy, type UpstreamProxySettings } from '../net/upstream-proxy.js';

export interface DispatcherOptions {
  readonly connections: number;
  readonly keepAliveTimeoutMs: number;
  readonly timeoutMs: number;
  readonly maxResponseSize: number;
}

/** The upstream proxy the control plane is reached through, or null (none, or upstream_no_proxy names it). */
export function controlPlaneUpstream(base: URL, upstream: UpstreamProxySettings | null): UpstreamProxy | null {
  if (upstream === null) return null;
  const proxy = base.protocol === 'https:' ? upstream.https : upstream.http;
  if (proxy === null) return null;
  const host = base.hostname.startsWith('[') ? base.hostname.slice(1, -1) : base.hostname;
  const port = base.port === '' ? (base.protocol === 'https:' ? 443 : 80) : Number(base.port);
  return compileNoProxy(upstream.noProxy)(host, port) ? null : proxy;
}

/**
 * The connections to the control plane: a keep-alive Pool to its origin, or, through an upstream
 * proxy, an undici ProxyAgent (a CONNECT tunnel with the proxy's Basic credentials; TLS to the
 * control plane inside it). Requests name the origin, which the Pool ignores and the ProxyAgent needs.
 */
export function createControlPlaneDispatcher(base: URL, proxy: UpstreamProxy | null, options: DispatcherOptions): Dispatcher {
  const common = {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    maxResponseSize: options.maxResponseSize,
  };
  if (proxy === null) return new Pool(base.origin, { ...common, connect: { timeout: options.timeoutMs } });
  const token = proxyAuthorization(proxy);
  return new ProxyAgent({
    ...common,
    uri: proxy.url,
    ...(token === null ? {} : { token }),
    proxyTls: { timeout: options.timeoutMs },
    requestTls: { timeout: options.timeoutMs },
    // The tunnel's CONNECT goes through a client of undici's own, which no request's deadline
    // reaches: with undici's default it waited 300 s for an upstream that read the CONNECT and
    // answered nothing, holding one of the client's request slots all that time (64 such, and
    // every verdict failed for five minutes after the upstream was well again).
    clientFactory: (origin: URL, connectOptions: object) => new Pool(origin, { ...connectOptions, headersTimeout: options.timeoutMs }),
  });
}
