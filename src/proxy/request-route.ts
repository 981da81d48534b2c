import type { Target } from '../contract/target.js';
import type { ErrorCode } from '../errors/codes.js';
import { proxyAuthorization, type UpstreamProxy } from '../net/upstream-proxy.js';
import type { OriginRoute } from './origin-route.js';

/**
 * The route of one allowed request (connector.upstreamFor chose `via`): straight to the checked
 * addresses; through the upstream proxy, https:// by a CONNECT to the destination (then TLS to it)
 * and http:// to the proxy itself in absolute-form.
 */
export function requestRoute(target: Target, secure: boolean, addresses: readonly string[], via: UpstreamProxy | null): OriginRoute {
  if (via === null) return { kind: 'direct', target, secure, addresses };
  return secure ? { kind: 'tunnel', target, proxy: via } : { kind: 'parent', proxy: via };
}

/**
 * Request line, headers and the empty line as written on `route`: origin-form, but absolute-form
 * (`http://host/path`) with the proxy's Basic credentials to an upstream proxy. `headers` is the
 * flat list with hop-by-hop fields (the client's Proxy-Authorization among them) already removed.
 */
export function requestHead(method: string, route: OriginRoute, host: string, path: string, headers: readonly string[]): string {
  let head = route.kind === 'parent' ? `${method} http://${host}${path} HTTP/1.1\r\n` : `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i] ?? ''}: ${headers[i + 1] ?? ''}\r\n`;
  if (route.kind === 'parent') {
    const auth = proxyAuthorization(route.proxy);
    if (auth !== null) head += `Proxy-Authorization: ${auth}\r\n`;
  }
  return `${head}\r\n`;
}

/**
 * The code an exchange on `route` fails with. Through the upstream proxy in absolute-form, a
 * failure before the answer's head (unreachable, a reset, silence) is the upstream's
 * (KZP_ERR_UPSTREAM_PROXY), but an answer that cannot be parsed is the destination's
 * (KZP_ERR_UPSTREAM_PROTOCOL), and the proxy's own limits stay its own.
 */
export function routeFailureCode(route: OriginRoute, code: ErrorCode, answered: boolean): ErrorCode {
  if (route.kind !== 'parent' || answered) return code;
  if (code === 'KZP_ERR_UPSTREAM_PROTOCOL' || code === 'KZP_ERR_LIMIT_DESTINATION' || code === 'KZP_ERR_LIMIT_CONNECTIONS' || code === 'KZP_ERR_BAD_REQUEST') return code;
  return 'KZP_ERR_UPSTREAM_PROXY';
}

/**
 * What the upstream_proxy warning says of a plain request's failure at the parent (the words of a
 * tunnel's, upstream-connect.ts): `timeout`, `unreachable` when no connection to it could be
 * opened, `closed` when one closed (or was reset) before the answer's head; a 407 says its status.
 */
export function parentFailureDetail(code: ErrorCode, stage: 'dial' | 'exchange'): string {
  if (code === 'KZP_ERR_UPSTREAM_TIMEOUT') return 'timeout';
  return stage === 'dial' ? 'unreachable' : 'closed';
}
