import { performance } from 'node:perf_hooks';
import type { Action } from '../contract/action.js';
import type { Decision } from '../contract/decision.js';
import type { ProxyObserver } from '../contract/observer.js';
import type { ErrorCode } from '../errors/codes.js';
import type { ConnectionContext } from './connection-registry.js';
import { logClosed, logDecision, type ExchangeTally } from './exchange-log.js';
import type { ProxyContext } from './proxy-context.js';
import { markShutdownCut } from './shutdown-cut.js';

/**
 * The transport's events, each written once: the canonical log line, then the observer (metrics,
 * the wrap summary, records). An observer that throws is contained: it never breaks the data plane.
 */
export function reportDecided(proxy: ProxyContext, conn: ConnectionContext, action: Action, decision: Decision, ms: number): void {
  logDecision(conn.lineLogger, conn.id, proxy.agent, action, decision, ms);
  const observer = proxy.observer;
  if (observer?.decided === undefined) return;
  try {
    observer.decided({ agent: proxy.agent, action, decision, ms });
  } catch {
    // Observers must not throw; if one does, the exchange goes on regardless.
  }
}

/** The exchange is a tunnel carrying bytes from now on (after its 200 or its spliced upgrade answer). */
export function tunnelOpened(proxy: ProxyContext, tally: ExchangeTally): void {
  if (tally.opened) return;
  tally.opened = true;
  proxy.lifecycle.tunnelOpened();
}

/**
 * A finished tunnel or request: the `closed` line (in gateway mode with the agent the exchange was
 * authenticated as, as its decision line has it), and a closed event when an action existed (a
 * refused event when the request was refused before it had one). `finished`: the exchange ended
 * whole (a response written to its end, a spliced tunnel that no cut reset: markTunnelCut decides
 * for those); one that did not, reported after the drain cut what was left, was cut by the
 * shutdown unless it failed on its own first (KZP_ERR_SHUTDOWN, shutdown-cut.ts).
 */
export function reportClosed(proxy: ProxyContext, conn: ConnectionContext, tally: ExchangeTally, finished = false): void {
  const now = performance.now();
  if (!finished) markShutdownCut(proxy.lifecycle, tally);
  if (tally.opened) {
    tally.opened = false;
    proxy.lifecycle.tunnelClosed();
  }
  // Only a gateway's authenticated contexts carry an identity: without one, no field and no allocation.
  logClosed(conn.lineLogger, conn.id, proxy.identity === null ? null : proxy.agent, conn.client, tally, now);
  const observer = proxy.observer;
  const action = tally.action;
  if (action === null) {
    // Cut by the shutdown before it had an action: not a refusal of the client's.
    if (tally.code !== null && tally.code !== 'KZP_ERR_SHUTDOWN') reportRefused(observer, tally.code);
    return;
  }
  if (observer?.closed === undefined) return;
  const { status, bytesUp, bytesDown, code } = tally;
  const durationMs = now - tally.startedAt;
  const agent = proxy.agent;
  try {
    observer.closed(
      code === null ? { agent, action, status, bytesUp, bytesDown, durationMs } : { agent, action, status, bytesUp, bytesDown, durationMs, error: code },
    );
  } catch {
    // As above.
  }
}

const REFUSED_REASONS: Partial<Record<ErrorCode, string>> = {
  KZP_ERR_BAD_REQUEST: 'bad_request',
  KZP_ERR_ORIGIN_FORM: 'origin_form',
  KZP_ERR_HEADERS_TOO_LARGE: 'headers_too_large',
  KZP_ERR_HEADER_TIMEOUT: 'header_timeout',
  KZP_ERR_LIMIT_CONNECTIONS: 'max_connections',
  KZP_ERR_LIMIT_CLIENT_CONNECTIONS: 'max_connections_per_client',
};

/** A client refused before any action existed (limits, malformed requests). */
export function reportRefused(observer: ProxyObserver | null, code: ErrorCode, reason: string = REFUSED_REASONS[code] ?? 'refused'): void {
  if (observer?.refused === undefined) return;
  try {
    observer.refused({ code, reason });
  } catch {
    // As above.
  }
}
