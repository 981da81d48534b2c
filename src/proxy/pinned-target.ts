import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseAuthority } from '../action/target-parse.js';
import type { Logger } from '../observe/logger.js';
import type { ConnectionContext } from './connection-registry.js';
import type { ProxyContext } from './proxy-context.js';
import { splitRequestTarget, type ProxyScheme, type SplitTarget } from './request-target.js';
import type { PinnedTunnel } from './interception.js';
import { authenticateClient, PROXY_AUTH_REQUIRED, type ClientAuth } from './client-auth.js';
import type { RequestView } from './exchange-views.js';
import { newTally, type ExchangeTally } from './exchange-log.js';
import { hostAuthority, hostFieldProblem, INVALID_HOST_FIELD, type HostAuthority } from './host-field.js';
import { errorRefusal, type Refusal } from './refusal.js';
import { refuseTunnel } from './tunnel-open.js';

/** A request refused inside a pinned session: its answer, and the session's target for its closed line. */
export interface PinnedRefusal {
  readonly ok: false;
  readonly target: string;
  readonly refusal: Refusal;
}

export type RequestSplit = SplitTarget | PinnedRefusal;

/** Bound on the authority written to the log (parseAuthority admits up to 1,024 characters). */
const MAX_LOGGED_AUTHORITY = 300;
/** Logged instead of a Host or CONNECT target that is not a well-formed authority. */
const NOT_AN_AUTHORITY = '(not an authority)';
const MISDIRECTED_REFUSAL = errorRefusal('KZP_ERR_MISDIRECTED');
const BAD_REFUSAL = errorRefusal('KZP_ERR_BAD_REQUEST');
const INVALID_HOST_REFUSAL = errorRefusal('KZP_ERR_BAD_REQUEST', { message: INVALID_HOST_FIELD });

/**
 * Gateway credentials come with the CONNECT, not with the requests inside an intercepted tunnel:
 * those carry the CONNECT's authenticated context, as long as its identity is admitted. Each is a
 * new action, so one whose identity a reload has removed (or whose token it changed) since the
 * CONNECT is refused, 407 as on a new connection, and the session closed: nothing it sends
 * afterwards would be admitted either. Everything else authenticates itself.
 *
 * The first thing every request and upgrade in a session meets, refused or not: the client spoke,
 * so it trusted the certificate (`heard`, intercept-tunnel.ts), whatever the proxy answers.
 */
export function authenticateRequest(base: ProxyContext, req: RequestView): ClientAuth {
  const tunnel = base.interception?.pinned(req.socket);
  if (tunnel === undefined) return authenticateClient(base, req.headers['proxy-authorization']);
  tunnel.heard = true;
  const proxy = tunnel.proxy;
  const identity = proxy.identity;
  if (identity === null || base.authenticate === null || base.authenticate.admits(identity)) return { ok: true, proxy };
  return { ok: false, proxy, refusal: PROXY_AUTH_REQUIRED, session: tunnel.target.authority };
}

/**
 * The request target of a request the proxy received: absolute-form as sent on a proxy
 * connection; on a connection pinned to an intercepted CONNECT target, the origin-form path
 * joined to that target, whatever the request says. A `Host` header (or an absolute URI) naming
 * another host is refused (421) and logged: the destination is never taken from the request. There
 * the proxy is the origin server: an HTTP/1.1 request without Host, one with two Host lines, or one
 * whose Host is not host[:port] is refused (400) as RFC 9112 §3.2 asks.
 */
export function requestSplit(proxy: ProxyContext, req: RequestView, conn: ConnectionContext): RequestSplit {
  const tunnel = proxy.interception?.pinned(req.socket);
  if (tunnel === undefined) return splitRequestTarget(req.url ?? '');
  const hostProblem = hostFieldProblem(req);
  if (hostProblem !== null) return pinnedRefusal(tunnel, errorRefusal('KZP_ERR_BAD_REQUEST', { message: hostProblem }));
  const hostText = req.headers.host;
  const host = hostText === undefined ? undefined : hostAuthority(hostText, defaultPort(tunnel.scheme));
  if (host === null) return pinnedRefusal(tunnel, INVALID_HOST_REFUSAL);
  const url = req.url ?? '';
  let path = url;
  if (!url.startsWith('/')) {
    const absolute = splitRequestTarget(url);
    if (!absolute.ok) return pinnedRefusal(tunnel, BAD_REFUSAL);
    // An authority that is no host[:port] is malformed (400), as an invalid Host is; a valid one
    // naming another host is misdirected (421). Only the authority is logged, never the path or query.
    const named = hostAuthority(absolute.authority, defaultPort(absolute.scheme));
    if (named === null) return pinnedRefusal(tunnel, BAD_REFUSAL);
    if (!namesTarget(named, tunnel)) return misdirected(conn.log, tunnel, bounded(named.target.authority), 'request target');
    path = absolute.path;
  }
  if (host !== undefined && !namesTarget(host, tunnel)) return misdirected(conn.log, tunnel, bounded(host.target.authority), 'Host header');
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  const query = path.indexOf('?');
  return { ok: true, scheme: tunnel.scheme, authority: tunnel.target.authority, path, pathOnly: query < 0 ? path : path.slice(0, query) };
}

/**
 * The answer to a request whose target was refused. Inside a session the tally takes the
 * session's target, so the closed line names where the connection was pinned.
 */
export function splitRefusal(split: Extract<RequestSplit, { ok: false }>, tally: ExchangeTally): Refusal {
  if (!('target' in split)) return errorRefusal(split.code);
  tally.target = split.target;
  return split.refusal;
}

function pinnedRefusal(tunnel: PinnedTunnel, refusal: Refusal): PinnedRefusal {
  return { ok: false, target: tunnel.target.authority, refusal };
}

/**
 * Whether an authority names the tunnel's target: same canonical host, and the same port when
 * it gives one (a Host without a port is accepted: the upstream is the CONNECT target anyway).
 */
function namesTarget(named: HostAuthority, tunnel: PinnedTunnel): boolean {
  return named.target.host === tunnel.target.host && (!named.explicitPort || named.target.port === tunnel.target.port);
}

/**
 * A CONNECT on a connection pinned to an intercepted CONNECT target: refused (421), whatever it
 * names and whatever credentials it carries. Honoured, it would open an opaque tunnel from inside
 * the session, to a destination and as an agent of the client's choosing, with none of the
 * requests in it decided; the upstream of an intercepted session is always its CONNECT target,
 * and its agent the one the outer CONNECT named. The client trusted the certificate: it spoke.
 */
export function refusePinnedConnect(tunnel: PinnedTunnel, client: Socket, url: string | undefined): void {
  tunnel.heard = true;
  const proxy = tunnel.proxy;
  const conn = proxy.registry.get(client);
  const tally = newTally('connect', performance.now());
  tally.target = tunnel.target.authority;
  const parsed = parseAuthority(url ?? '');
  misdirected(conn.log, tunnel, parsed.ok ? bounded(parsed.value.authority) : NOT_AN_AUTHORITY, 'CONNECT', 'misdirected: a CONNECT inside an intercepted session; refused (421)');
  refuseTunnel(proxy, conn, client, tally, MISDIRECTED_REFUSAL);
}

function misdirected(log: Logger, tunnel: PinnedTunnel, named: string, where: string, message = 'misdirected: an intercepted request named another host than its CONNECT; refused (421)'): PinnedRefusal {
  log.warn({ code: 'KZP_ERR_MISDIRECTED', target: tunnel.target.authority, named, where }, message);
  return pinnedRefusal(tunnel, MISDIRECTED_REFUSAL);
}

function defaultPort(scheme: ProxyScheme): number {
  return scheme === 'https' ? 443 : 80;
}

function bounded(authority: string): string {
  return authority.length > MAX_LOGGED_AUTHORITY ? authority.slice(0, MAX_LOGGED_AUTHORITY) : authority;
}
