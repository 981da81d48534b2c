import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Action } from '../contract/action.js';
import { tlsOver } from '../net/reset-socket.js';
import type { Target } from '../contract/target.js';
import type { ConnectionContext } from './connection-registry.js';
import { decideAction } from './decide-action.js';
import { captureEarlyBytes } from './early-bytes.js';
import { readInterceptFlight } from './intercept-flight.js';
import { passThrough } from './intercept-passthrough.js';
import { reportClosed, tunnelOpened } from './exchange-events.js';
import type { ExchangeTally } from './exchange-log.js';
import type { Interception, PinnedTunnel } from './interception.js';
import { handBack } from './parser-hand-off.js';
import type { ProxyContext } from './proxy-context.js';
import { decisionRefusal, errorRefusal } from './refusal.js';
import { refuseTunnel } from './tunnel-open.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';
/**
 * How long a client has after the 200 to start its TLS or HTTP before the destination is dialled
 * for a protocol whose server speaks first (SMTP, FTP); TLS and HTTP clients speak at once.
 */
const FIRST_FLIGHT_WAIT_MS = 1_000;
/**
 * The protocols the interception offers by ALPN: HTTP/1.1, and HTTP/1.0, which `curl --http1.0`
 * offers alone (an HTTP/1.x origin such as nginx serves it; refusing it broke that client).
 */
const ALPN_PROTOCOLS = ['http/1.1', 'http/1.0'];
/** Node's code when a TLS client's ALPN list has nothing in common with the server's (HTTP/1.x here). */
const NO_APPLICATION_PROTOCOL = 'ERR_SSL_NO_APPLICATION_PROTOCOL';
const H2_ONLY_HINT = 'the client offers only h2 (gRPC?): the proxy intercepts HTTP/1.1 only; remove the host from intercept.hosts';
/** A session whose client completed the handshake and left without a request: most likely a late certificate check. */
const CLOSED_AFTER_HANDSHAKE = 'closed after the handshake without a request';
const CA_TRUST_HINT = 'the client refused the interception certificate or left without a request: make it trust the CA (kaizen-proxy ca show; NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, curl --cacert), or remove the host from intercept.hosts';

/**
 * An allowed CONNECT to an intercepted host: no destination is dialled for the tunnel itself.
 * The proxy answers 200, terminates TLS on the client socket (a certificate for the CONNECT host,
 * ALPN http/1.1 or http/1.0) and hands the decrypted socket to its own HTTP server, pinned to the CONNECT
 * target: each request on it is decided and forwarded on its own, always to that target. A
 * client that speaks plain HTTP in the tunnel is served the same way. A client that speaks
 * another protocol, or nothing within FIRST_FLIGHT_WAIT_MS, gets the ordinary tunnel the
 * CONNECT's decision allowed (intercept-passthrough.ts). Never rejects.
 */
export async function interceptTunnel(
  proxy: ProxyContext,
  interception: Interception,
  conn: ConnectionContext,
  client: Socket,
  head: Buffer,
  target: Target,
  action: Action,
  tally: ExchangeTally,
): Promise<void> {
  const early = captureEarlyBytes(client);
  const { decision, resolution } = await decideAction(proxy, conn, action, target);
  if (decision.enforce === 'refuse') {
    refuseTunnel(proxy, conn, client, tally, decisionRefusal(decision, { agent: proxy.agent, target: action.target }), early);
    return;
  }
  // Nothing is dialled here, but a name that does not resolve is answered now, like a tunnel's.
  const resolved = await resolution;
  if (!resolved.ok) {
    if (client.destroyed) {
      early.release();
      reportClosed(proxy, conn, tally);
    } else refuseTunnel(proxy, conn, client, tally, errorRefusal(resolved.code, { target: target.authority }), early);
    return;
  }
  let context: SecureContext;
  try {
    context = await interception.interceptor.secureContext(target);
  } catch {
    conn.log.error({ code: 'KZP_ERR_INTERCEPT_TLS', target: target.authority }, 'no certificate could be issued for an intercepted host');
    refuseTunnel(proxy, conn, client, tally, errorRefusal('KZP_ERR_INTERCEPT_TLS', { target: target.authority }), early);
    return;
  }
  if (client.destroyed) {
    early.release();
    reportClosed(proxy, conn, tally);
    return;
  }

  tally.status = 200;
  tunnelOpened(proxy, tally);
  client.write(ESTABLISHED);
  const { chunks, ended } = early.release();
  const flight = await readInterceptFlight(client, { chunks: [head, ...chunks], ended }, FIRST_FLIGHT_WAIT_MS);
  const intercept = (bytes: Buffer, kind: 'tls' | 'http'): void => {
    interceptFlight(interception, conn, client, context, { target, proxy, tally }, bytes, kind);
  };
  switch (flight.kind) {
    case 'gone':
      client.destroy();
      reportClosed(proxy, conn, tally);
      return;
    case 'tls':
    case 'http':
      intercept(flight.bytes, flight.kind);
      return;
    case 'other':
      passThrough({ proxy, conn, client, target, addresses: resolved.addresses, tally, intercept }, flight);
      return;
    case 'silent':
      passThrough({ proxy, conn, client, target, addresses: resolved.addresses, tally, intercept }, null);
      return;
  }
}

/**
 * Serve the client's TLS or plain HTTP (`bytes`, its first, go back into the socket first) through
 * the proxy's own HTTP server, pinned to `target`; the tally's closed line follows the session's
 * end. Also the way in for a redirected ClientHello naming an intercepted host (transparent-tls.ts).
 */
export function interceptFlight(
  interception: Interception,
  conn: ConnectionContext,
  client: Socket,
  context: SecureContext,
  exchange: { readonly target: Target; readonly proxy: ProxyContext; readonly tally: ExchangeTally },
  bytes: Buffer,
  kind: 'tls' | 'http',
): void {
  const { target, proxy, tally } = exchange;
  const readBase = client.bytesRead - bytes.length;
  const writtenBase = client.bytesWritten;
  const onClosed = (): void => {
    tally.bytesUp = client.bytesRead - readBase;
    tally.bytesDown = client.bytesWritten - writtenBase;
    reportClosed(proxy, conn, tally);
  };
  if (kind === 'http') {
    const tunnel: PinnedTunnel = { target, proxy, scheme: 'http', heard: false };
    client.once('close', onClosed);
    // Paused since the first flight: flowing again, the server's parser reads the unshifted request first.
    handBack(client, bytes, (socket) => {
      interception.feed(socket, tunnel);
    });
    return;
  }
  client.unshift(bytes);
  terminateTls(interception, conn, client, context, { target, proxy, scheme: 'https', heard: false }, tally, onClosed);
}

/**
 * Terminates the client's TLS and feeds the session to the HTTP server. A client refused the
 * certificate when its handshake ends before it completes (an alert such as unknown_ca, a close, the
 * handshake timeout), or when it completes and the client leaves without a word (`heard`: no request,
 * not even one the parser refused), as a client that checks the certificate late does (TLS 1.2
 * stacks, certificate pinning): KZP_ERR_INTERCEPT_TLS on the CONNECT's closed line and the host's
 * one warning. A request the parser refuses (431, 400, 408) is the session's, not a question of trust.
 */
function terminateTls(
  interception: Interception,
  conn: ConnectionContext,
  client: Socket,
  context: SecureContext,
  tunnel: PinnedTunnel,
  tally: ExchangeTally,
  onClosed: () => void,
): void {
  const tls = new TLSSocket(client, { isServer: true, secureContext: context, ALPNProtocols: ALPN_PROTOCOLS });
  // A reset meant for the session's client goes to the CONNECT socket under it (reset-socket.ts).
  tlsOver(tls, client);
  const { target } = tunnel;
  let failure: string | null = null;
  let secured = false;
  const timer = setTimeout(() => {
    failure = 'handshake timeout';
    tls.destroy();
  }, interception.handshakeTimeoutMs);
  const onError = (error: Error): void => {
    failure ??= 'code' in error && typeof error.code === 'string' ? error.code : error.message;
  };
  // The server's sockets allow half-open: a client that hangs up mid-handshake must be closed here.
  const onEnd = (): void => {
    failure ??= 'closed during the handshake';
    tls.destroy();
  };
  tls.on('error', onError);
  tls.once('end', onEnd);
  tls.once('secure', () => {
    secured = true;
    clearTimeout(timer);
    tls.off('error', onError);
    tls.off('end', onEnd);
    interception.feed(tls, tunnel);
  });
  tls.once('close', () => {
    clearTimeout(timer);
    client.destroy();
    if (!secured || !tunnel.heard) {
      failure ??= secured ? CLOSED_AFTER_HANDSHAKE : null;
      tally.code = 'KZP_ERR_INTERCEPT_TLS';
      // No ALPN protocol in common: the client offered h2 alone (no HTTP/1.x), a limit of ours, not a CA it distrusts.
      const h2Only = failure === NO_APPLICATION_PROTOCOL;
      if (interception.firstWarning(h2Only ? 'h2_only' : 'ca_trust', target.host)) {
        const fields = { code: 'KZP_ERR_INTERCEPT_TLS', target: target.authority, tls_error: failure ?? 'closed during the handshake' } as const;
        if (h2Only) conn.log.warn(fields, H2_ONLY_HINT);
        else conn.log.warn({ ...fields, ca: interception.interceptor.caFile }, CA_TRUST_HINT);
      }
    }
    onClosed();
  });
}
