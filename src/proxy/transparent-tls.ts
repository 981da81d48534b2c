import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { SecureContext } from 'node:tls';
import { connectAction } from '../action/build-action.js';
import { targetFromParts } from '../action/target-parse.js';
import type { Target } from '../contract/target.js';
import type { ConnectionContext } from './connection-registry.js';
import { decideAction } from './decide-action.js';
import { captureEarlyBytes, type EarlyCapture } from './early-bytes.js';
import { reportClosed, tunnelOpened } from './exchange-events.js';
import { newTally, type ExchangeTally } from './exchange-log.js';
import { interceptFlight } from './intercept-tunnel.js';
import type { Interception } from './interception.js';
import type { ProxyContext } from './proxy-context.js';
import { decisionRefusal } from './refusal.js';
import { sendTlsAlert, TLS_ALERT, type TlsAlert } from './tls-alert.js';
import { forwardEarlyBytes } from './tunnel-open.js';
import { markTunnelCut } from './shutdown-cut.js';
import { spliceSockets } from './socket-pipe.js';
import { refuseRedirect } from './transparent-refusal.js';

/**
 * Without SO_ORIGINAL_DST (Node cannot read it) the port a redirected TLS client dialled is lost:
 * TLS is taken to be HTTPS on 443, the destination is the SNI, resolved and dialled by the proxy.
 */
export const TRANSPARENT_TLS_PORT = 443;

/**
 * A redirected TLS connection: the ClientHello's SNI names the destination, decided as a `connect`
 * action on port 443; on allow the ClientHello (already read) goes first, then a splice. Refusals
 * are TLS alerts, the only answer a TLS client reads; no SNI (HTTPS to a bare IP) is refused.
 * An SNI naming a host in intercept.hosts is not spliced: that host's requests are decided one by
 * one, which an opaque session would skip, so the connection is intercepted as a CONNECT to sni:443
 * would be (interceptRedirected).
 */
export async function tunnelRedirectedTls(proxy: ProxyContext, conn: ConnectionContext, client: Socket, hello: Buffer, sni: string | undefined): Promise<void> {
  if (sni === undefined) {
    refuseRedirect(proxy, conn, client, 'no_sni', 'a TLS connection without SNI (HTTPS to a bare IP address?)');
    return;
  }
  const parsed = targetFromParts(sni, TRANSPARENT_TLS_PORT);
  if (!parsed.ok) {
    refuseRedirect(proxy, conn, client, 'bad_sni', `the SNI is not a host name (${parsed.message})`);
    return;
  }
  const target = parsed.value;
  const tally = newTally('connect', performance.now());
  tally.target = target.authority;
  const action = connectAction(target, { ...proxy.labels.tunnel(target), sni });
  tally.action = action;
  const early = captureEarlyBytes(client);
  client.resume();
  const { decision, resolution } = await decideAction(proxy, conn, action, target);
  if (decision.enforce === 'refuse') {
    const refusal = decisionRefusal(decision, { agent: proxy.agent, target: action.target });
    tally.code = refusal.code;
    refuse(proxy, conn, client, tally, early, TLS_ALERT.accessDenied, refusal.status);
    return;
  }
  const resolved = await resolution;
  if (gone(client)) {
    abandoned(proxy, conn, tally);
    return;
  }
  if (!resolved.ok) {
    tally.code = resolved.code;
    refuse(proxy, conn, client, tally, early, TLS_ALERT.internalError, 502);
    return;
  }
  const interception = proxy.interception;
  if (interception?.interceptor.intercepts(target) === true) {
    await interceptRedirected(proxy, interception, conn, { client, hello, early }, target, tally);
    return;
  }
  const dialed = await proxy.connector.open(target, resolved.addresses, { connectTimeoutMs: proxy.connectTimeoutMs, owner: client, relayable: true });
  if (gone(client)) {
    if (dialed.ok) dialed.socket.destroy();
    abandoned(proxy, conn, tally);
    return;
  }
  if (!dialed.ok) {
    tally.code = dialed.code;
    refuse(proxy, conn, client, tally, early, TLS_ALERT.internalError, dialed.code === 'KZP_ERR_UPSTREAM_TIMEOUT' ? 504 : 502);
    return;
  }
  const upstream = dialed.socket;
  tally.status = 200;
  tunnelOpened(proxy, tally);
  upstream.write(hello);
  forwardEarlyBytes(early, upstream);
  spliceSockets(client, upstream, proxy.idleSweep.watch(client, upstream), proxy.lifecycle, (cut) => {
    tally.bytesUp = upstream.bytesWritten;
    tally.bytesDown = upstream.bytesRead;
    markTunnelCut(tally, cut);
    reportClosed(proxy, conn, tally, !cut);
  });
}

/**
 * An allowed redirected ClientHello naming an intercepted host: what an intercepted CONNECT to
 * sni:443 does after its 200 (intercept-tunnel.ts), without the 200. Nothing is dialled for the
 * connection; the proxy terminates the TLS itself (a certificate for the SNI host, the ClientHello
 * and whatever followed it replayed into the handshake) and hands the decrypted socket to its HTTP
 * server pinned to sni:443, where each request is decided, logged and forwarded on its own.
 */
async function interceptRedirected(
  proxy: ProxyContext,
  interception: Interception,
  conn: ConnectionContext,
  redirected: { readonly client: Socket; readonly hello: Buffer; readonly early: EarlyCapture },
  target: Target,
  tally: ExchangeTally,
): Promise<void> {
  const { client, hello, early } = redirected;
  let context: SecureContext;
  try {
    context = await interception.interceptor.secureContext(target);
  } catch {
    conn.log.error({ code: 'KZP_ERR_INTERCEPT_TLS', target: target.authority }, 'no certificate could be issued for an intercepted host');
    tally.code = 'KZP_ERR_INTERCEPT_TLS';
    refuse(proxy, conn, client, tally, early, TLS_ALERT.internalError, 502);
    return;
  }
  const { chunks, ended } = early.release();
  // A client that left, or sent its FIN after the ClientHello, can finish no handshake.
  if (gone(client) || ended) {
    client.destroy();
    abandoned(proxy, conn, tally);
    return;
  }
  tally.status = 200;
  tunnelOpened(proxy, tally);
  interceptFlight(interception, conn, client, context, { target, proxy, tally }, chunks.length === 0 ? hello : Buffer.concat([hello, ...chunks]), 'tls');
}

function refuse(proxy: ProxyContext, conn: ConnectionContext, client: Socket, tally: ExchangeTally, early: EarlyCapture, alert: TlsAlert, status: number): void {
  early.release();
  tally.status = status;
  sendTlsAlert(client, alert);
  reportClosed(proxy, conn, tally);
}

/** The client went away before anything was answered: status 0, as for an abandoned CONNECT or request. */
function abandoned(proxy: ProxyContext, conn: ConnectionContext, tally: ExchangeTally): void {
  tally.status = 0;
  reportClosed(proxy, conn, tally);
}

/** Re-read after each await (a plain property check would be narrowed away by the compiler). */
function gone(client: Socket): boolean {
  return client.destroyed;
}
