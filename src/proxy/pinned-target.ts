import { parseAuthority } from '../action/target-parse.js';
import type { Logger } from '../observe/logger.js';
import type { ConnectionContext } from './connection-registry.js';
import type { ProxyContext } from './proxy-context.js';
import { splitRequestTarget, type ProxyScheme, type SplitTarget } from './request-target.js';
import type { PinnedTunnel } from './interception.js';
import { authenticateClient, type ClientAuth } from './client-auth.js';
import type { RequestView } from './exchange-views.js';

export type RequestSplit = SplitTarget | { readonly ok: false; readonly code: 'KZP_ERR_MISDIRECTED' };

const MISDIRECTED = { ok: false, code: 'KZP_ERR_MISDIRECTED' } as const;
const BAD = { ok: false, code: 'KZP_ERR_BAD_REQUEST' } as const;
/** Bound on the Host text written to the log. */
const MAX_LOGGED_HOST = 300;

/**
 * Gateway credentials come with the CONNECT, not with the requests inside an intercepted tunnel:
 * those carry the CONNECT's authenticated context. Everything else authenticates itself.
 */
export function authenticateRequest(base: ProxyContext, req: RequestView): ClientAuth {
  const tunnel = base.interception?.pinned(req.socket);
  return tunnel === undefined ? authenticateClient(base, req.headers['proxy-authorization']) : { ok: true, proxy: tunnel.proxy };
}

/**
 * The request target of a request the proxy received: absolute-form as sent on a proxy
 * connection; on a connection pinned to an intercepted CONNECT target, the origin-form path
 * joined to that target, whatever the request says. A `Host` header (or an absolute URI) naming
 * another host is refused (421) and logged: the destination is never taken from the request.
 */
export function requestSplit(proxy: ProxyContext, req: RequestView, conn: ConnectionContext): RequestSplit {
  const tunnel = proxy.interception?.pinned(req.socket);
  if (tunnel === undefined) return splitRequestTarget(req.url ?? '');
  tunnel.requests++;
  const url = req.url ?? '';
  let path = url;
  if (!url.startsWith('/')) {
    const absolute = splitRequestTarget(url);
    if (!absolute.ok) return BAD;
    if (!sameTarget(absolute.authority, tunnel, absolute.scheme)) return misdirected(conn.log, tunnel, url.slice(0, MAX_LOGGED_HOST), 'request target');
    path = absolute.path;
  }
  const host = req.headers.host;
  if (host !== undefined && !sameTarget(host, tunnel, tunnel.scheme)) return misdirected(conn.log, tunnel, host.slice(0, MAX_LOGGED_HOST), 'Host header');
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  const query = path.indexOf('?');
  return { ok: true, scheme: tunnel.scheme, authority: tunnel.target.authority, path, pathOnly: query < 0 ? path : path.slice(0, query) };
}

/**
 * Whether an authority names the tunnel's target: same canonical host, and the same port when
 * it gives one (a Host without a port is accepted: the upstream is the CONNECT target anyway).
 */
function sameTarget(authority: string, tunnel: PinnedTunnel, scheme: ProxyScheme): boolean {
  const explicitPort = /:\d+$/.test(authority) && !authority.endsWith(']');
  const parsed = parseAuthority(explicitPort ? authority : `${authority}:${scheme === 'https' ? 443 : 80}`);
  if (!parsed.ok) return false;
  return parsed.value.host === tunnel.target.host && (!explicitPort || parsed.value.port === tunnel.target.port);
}

function misdirected(log: Logger, tunnel: PinnedTunnel, named: string, where: string): RequestSplit {
  log.warn({ code: 'KZP_ERR_MISDIRECTED', target: tunnel.target.authority, named, where }, 'misdirected: an intercepted request named another host than its CONNECT; refused (421)');
  return MISDIRECTED;
}
