import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { Target } from '../contract/target.js';
import type { Connector } from '../net/connector.js';
import { dial } from '../net/dial.js';
import { secureUpstream } from '../net/secure-upstream.js';
import type { UpstreamProxy } from '../net/upstream-proxy.js';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { LimitRefusalLog } from './limit-refusal-log.js';

/**
 * Where a pooled HTTP/1.1 connection goes, and so which pool it belongs to (origin-pools.ts):
 *
 * - `direct`: to exactly the addresses the verdict checked (TLS to the target when `secure`);
 * - `parent`: to the upstream proxy itself, carrying plain http:// requests in absolute-form
 *   (one pool per upstream and credentials, whatever the destination, as a proxy is used);
 * - `tunnel`: a CONNECT to the target through the upstream proxy, then verified TLS to the target.
 *
 * Every route's answers are read by the same parser (origin-connection.ts), so the client sees the
 * same answer for the same destination bytes whichever way they came.
 */
export type OriginRoute =
  | { readonly kind: 'direct'; readonly target: Target; readonly secure: boolean; readonly addresses: readonly string[] }
  | { readonly kind: 'parent'; readonly proxy: UpstreamProxy }
  | { readonly kind: 'tunnel'; readonly target: Target; readonly proxy: UpstreamProxy };

/** What opening a route's connections needs besides the route. */
export interface RouteSettings {
  readonly connectTimeoutMs: number;
  /** Node's default store plus configured extra CAs; the default store alone when undefined. */
  readonly secureContext: SecureContext | undefined;
  /** Told of a dial that found no descriptor (the proxy's `refused` lines); none when absent. */
  readonly refusalLog?: LimitRefusalLog;
  /** Opens a tunnel's CONNECT and reports its failure (the upstream_proxy warning). */
  readonly connector: Connector;
}

/**
 * The pool a route's connections share. `proxyId` stands for an upstream proxy with its
 * credentials (they never appear in a key): two users of one proxy never share a connection.
 */
export function routeKey(route: OriginRoute, proxyId: (proxy: UpstreamProxy) => number): string {
  switch (route.kind) {
    case 'direct':
      return `${route.secure ? 's' : 'p'} ${route.target.authority} ${route.addresses.join(' ')}`;
    case 'parent':
      return `v ${String(proxyId(route.proxy))}`;
    case 'tunnel':
      return `t ${String(proxyId(route.proxy))} ${route.target.authority}`;
  }
}

/** A new connection on `route`, or the failure (a KaizenProxyError, or what TLS threw). */
export async function openRoute(route: OriginRoute, settings: RouteSettings): Promise<Socket> {
  switch (route.kind) {
    case 'direct': {
      const socket = await dialed(route.addresses, route.target.port, settings, 'destination unreachable');
      return route.secure ? secured(socket, route.target, settings) : socket;
    }
    case 'parent':
      // The proxy's own name is resolved here (it is configured, not a destination); any failure is
      // the upstream's (routeFailureCode), the dial's own code saying which (a timeout or not).
      return dialed([route.proxy.host], route.proxy.port, settings, `upstream proxy ${route.proxy.url} unreachable`);
    case 'tunnel': {
      const connected = await settings.connector.through(route.proxy, route.target.authority, { connectTimeoutMs: settings.connectTimeoutMs });
      if (!connected.ok) throw new KaizenProxyError('KZP_ERR_UPSTREAM_PROXY', `upstream proxy ${route.proxy.url}: ${connected.detail}`);
      return secured(connected.socket, route.target, settings);
    }
  }
}

async function dialed(addresses: readonly string[], port: number, settings: RouteSettings, message: string): Promise<Socket> {
  const result = await dial(addresses, port, { connectTimeoutMs: settings.connectTimeoutMs });
  if (result.ok) return result.socket;
  // No descriptor for the dial: the request is answered 503 KZP_ERR_LIMIT_CONNECTIONS (upstream-error.ts), and logged.
  if (result.exhausted !== undefined) settings.refusalLog?.descriptors(result.exhausted, 'connect');
  throw new KaizenProxyError(result.code, message);
}

async function secured(socket: Socket, target: Target, settings: RouteSettings): Promise<Socket> {
  const tls = await secureUpstream(socket, {
    host: target.host,
    hostIsName: target.hostType === 'dns',
    secureContext: settings.secureContext,
    timeoutMs: settings.connectTimeoutMs,
  });
  if (tls instanceof Error) throw tls;
  return tls;
}
