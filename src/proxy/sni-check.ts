import type { Socket } from 'node:net';
import { connectAction } from '../action/build-action.js';
import { targetFromParts } from '../action/target-parse.js';
import type { Decision } from '../contract/decision.js';
import type { Target } from '../contract/target.js';
import type { ErrorCode } from '../errors/codes.js';
import { closePair } from '../net/reset-socket.js';
import type { FirstFlight } from './client-hello-gate.js';
import type { ConnectionContext } from './connection-registry.js';
import { decideAction } from './decide-action.js';
import { reportClosed, reportDecided } from './exchange-events.js';
import type { ExchangeTally } from './exchange-log.js';
import type { ProxyContext } from './proxy-context.js';
import { decisionRefusal } from './refusal.js';
import { sendTlsAlert, TLS_ALERT } from './tls-alert.js';

export type Admitted = Extract<FirstFlight, { readonly kind: 'tls' | 'other' }>;

/** The longest SNI kept in an action or a log line (a DNS name is at most 253 octets). */
const MAX_SNI_SHOWN = 253;

/**
 * The SNI check of a CONNECT tunnel, after its 200 and before any client byte goes upstream. An
 * SNI naming the CONNECT host (or none, or no TLS at all) passes. Another name is decided as a
 * `connect` action of its own (metadata.sni, metadata.connect_host), and the tunnel goes on only if
 * that is allowed: whether a mismatch is refused outright (tls.sni_mismatch) is policy, the
 * Decider's to say, so the refusal is reported to the control plane like any other. An SNI naming a
 * host the proxy intercepts (proxy.interception) is refused even when that action is allowed,
 * whatever tls.sni_mismatch says: that host's requests are decided one by one, which an opaque
 * tunnel would skip. A refusal is a TLS `access_denied` alert (the client already has its
 * 200), logged as a decision and a closed line and reported to observers. Returns the flight to
 * forward, or null when the tunnel was closed here.
 */
export async function admitFirstFlight(
  proxy: ProxyContext,
  conn: ConnectionContext,
  sockets: { readonly client: Socket; readonly upstream: Socket },
  target: Target,
  flight: FirstFlight,
  tally: ExchangeTally,
): Promise<Admitted | null> {
  switch (flight.kind) {
    case 'other':
      return flight;
    case 'gone':
      return close(proxy, conn, sockets, tally, null);
    case 'unreadable':
      conn.log.warn({ target: target.authority, reason: flight.reason }, 'tunnel closed: it starts like TLS but its ClientHello cannot be read');
      return close(proxy, conn, sockets, tally, 'KZP_ERR_BAD_REQUEST');
    case 'tls':
      break;
  }
  const sni = flight.sni;
  if (sni === undefined || sniPasses(target, sni)) return flight;
  const named = targetFromParts(sni, target.port);

  const shown = sni.slice(0, MAX_SNI_SHOWN);
  const subject = named.ok ? named.value : target;
  // Labelled as a CONNECT to that name would be (its publisher), so publisher rules see it.
  const action = connectAction(subject, { ...proxy.labels.tunnel(subject), sni: shown, connectHost: target.host });
  if (!named.ok) {
    // Not a host name at all: a malformed ClientHello, refused here like a malformed request.
    reportDecided(proxy, conn, action, unreadableSni(shown, target.host), 0);
    return close(proxy, conn, sockets, tally, 'KZP_ERR_SNI_MISMATCH');
  }
  const { decision } = await decideAction(proxy, conn, action, named.value);
  if (sockets.client.destroyed) return close(proxy, conn, sockets, tally, null);
  if (decision.enforce === 'refuse') {
    // `sni_mismatch` is the reason tls.sni_mismatch: block gives; other refusals keep their own code.
    const code = decision.reason === 'sni_mismatch' ? 'KZP_ERR_SNI_MISMATCH' : decisionRefusal(decision, { agent: proxy.agent, target: action.target }).code;
    return close(proxy, conn, sockets, tally, code);
  }
  // An intercepted host's requests are decided one by one once its CONNECT is terminated
  // (intercept-tunnel.ts): an opaque session to it inside a tunnel to another host would skip them.
  if (proxy.interception?.interceptor.intercepts(named.value) === true) {
    conn.log.warn(
      { code: 'KZP_ERR_SNI_MISMATCH', reason: 'sni_intercepted', target: target.authority, named: named.value.authority },
      'tunnel refused: its SNI names an intercepted host, reached only through a CONNECT to it',
    );
    return close(proxy, conn, sockets, tally, 'KZP_ERR_SNI_MISMATCH');
  }
  return flight;
}

/**
 * The flight, when it passes without a decision: not TLS, or a ClientHello naming no server or the
 * CONNECT host (the common case, admitted in the turn it is read: established-tunnel.ts). Otherwise
 * undefined, and admitFirstFlight has the rest to do.
 */
export function passesAtOnce(target: Target, flight: FirstFlight): Admitted | undefined {
  if (flight.kind === 'other') return flight;
  return flight.kind === 'tls' && (flight.sni === undefined || sniPasses(target, flight.sni)) ? flight : undefined;
}

/** Whether a ClientHello's SNI names the CONNECT host. */
function sniPasses(target: Target, sni: string): boolean {
  const named = targetFromParts(sni, target.port);
  return named.ok && named.value.host === target.host;
}

/** The transport's own refusal of an SNI that is no host name: a protocol check, not a verdict. */
function unreadableSni(sni: string, connectHost: string): Decision {
  return {
    decision: 'block',
    enforce: 'refuse',
    reason: 'sni_mismatch',
    evidence: [
      { kind: 'sni', value: sni, source: 'kaizen-proxy' },
      { kind: 'connect_host', value: connectHost, source: 'kaizen-proxy' },
    ],
    source: 'guard',
    verdictId: null,
    flagged: false,
    wouldBlock: false,
  };
}

/** Ends the tunnel before any client byte went upstream: an alert for a refusal, a plain close when a side left. */
function close(
  proxy: ProxyContext,
  conn: ConnectionContext,
  sockets: { readonly client: Socket; readonly upstream: Socket },
  tally: ExchangeTally,
  code: ErrorCode | null,
): null {
  if (code === null) {
    // A side went away first: its reset, if it was one, reaches the other side.
    closePair(sockets.client, sockets.upstream);
  } else {
    sockets.upstream.destroy();
    sendTlsAlert(sockets.client, TLS_ALERT.accessDenied);
  }
  tally.code = code;
  tally.bytesDown = sockets.upstream.bytesRead;
  reportClosed(proxy, conn, tally);
  return null;
}

