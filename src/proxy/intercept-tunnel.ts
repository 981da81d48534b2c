import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Action } from '../contract/action.js';
import type { Target } from '../contract/target.js';
import type { ConnectionContext } from './connection-registry.js';
import { decideAction } from './decide-action.js';
import { captureEarlyBytes } from './early-bytes.js';
import { reportClosed, tunnelOpened } from './exchange-events.js';
import type { ExchangeTally } from './exchange-log.js';
import type { Interception, PinnedTunnel } from './interception.js';
import type { ProxyContext } from './proxy-context.js';
import { decisionRefusal, errorRefusal } from './refusal.js';
import { refuseTunnel } from './tunnel-open.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';
/** First byte of a TLS record carrying a handshake (the ClientHello). */
const TLS_HANDSHAKE = 0x16;
const CA_TRUST_HINT = 'the client refused the interception certificate or left without a request: make it trust the CA (kaizen-proxy ca show; NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, curl --cacert), or remove the host from intercept.hosts';

/**
 * An allowed CONNECT to an intercepted host: no destination is dialled for the tunnel itself.
 * The proxy answers 200, terminates TLS on the client socket (a certificate for the CONNECT host,
 * ALPN http/1.1) and hands the decrypted socket to its own HTTP server, pinned to the CONNECT
 * target: each request on it is decided and forwarded on its own, always to that target. A
 * client that speaks plain HTTP in the tunnel is served the same way. Never rejects.
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
  if (!resolved.ok && !client.destroyed) {
    refuseTunnel(proxy, conn, client, tally, errorRefusal(resolved.code, { target: target.authority }), early);
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
  const waiting = Buffer.concat([head, ...chunks]);
  const readBase = client.bytesRead - waiting.length;
  const writtenBase = client.bytesWritten;
  const onClosed = (): void => {
    tally.bytesUp = client.bytesRead - readBase;
    tally.bytesDown = client.bytesWritten - writtenBase;
    reportClosed(proxy, conn, tally);
  };
  const first = waiting.length > 0 ? waiting : ended ? null : await firstChunk(client, interception.handshakeTimeoutMs);
  if (first === null) {
    client.destroy();
    onClosed();
    return;
  }
  client.unshift(first);
  if (first[0] !== TLS_HANDSHAKE) {
    const tunnel: PinnedTunnel = { target, proxy, scheme: 'http', requests: 0 };
    client.once('close', onClosed);
    interception.feed(client, tunnel);
    // Paused since the decision: flowing again, the server's parser reads the unshifted request first.
    client.resume();
    return;
  }
  terminateTls(interception, conn, client, context, { target, proxy, scheme: 'https', requests: 0 }, tally, onClosed);
}

function terminateTls(
  interception: Interception,
  conn: ConnectionContext,
  client: Socket,
  context: SecureContext,
  tunnel: PinnedTunnel,
  tally: ExchangeTally,
  onClosed: () => void,
): void {
  const tls = new TLSSocket(client, { isServer: true, secureContext: context, ALPNProtocols: ['http/1.1'] });
  const { target } = tunnel;
  let failure: string | null = null;
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
    clearTimeout(timer);
    tls.off('error', onError);
    tls.off('end', onEnd);
    interception.feed(tls, tunnel);
  });
  tls.once('close', () => {
    clearTimeout(timer);
    client.destroy();
    const refused = failure !== null || tunnel.requests === 0;
    if (refused) {
      tally.code = 'KZP_ERR_INTERCEPT_TLS';
      if (interception.firstWarning(target.host)) {
        conn.log.warn({ code: 'KZP_ERR_INTERCEPT_TLS', target: target.authority, tls_error: failure ?? 'closed without a request', ca: interception.interceptor.caFile }, CA_TRUST_HINT);
      }
    }
    onClosed();
  });
}

/** The client's first bytes after the 200 (it speaks first in TLS and HTTP); null when it leaves or stays silent. */
function firstChunk(client: Socket, timeoutMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const settle = (chunk: Buffer | null): void => {
      clearTimeout(timer);
      client.off('data', onData);
      client.off('end', onEnd);
      client.off('close', onEnd);
      client.pause();
      resolve(chunk);
    };
    const onData = (chunk: Buffer): void => {
      settle(chunk);
    };
    const onEnd = (): void => {
      settle(null);
    };
    const timer = setTimeout(onEnd, timeoutMs);
    client.on('data', onData);
    client.once('end', onEnd);
    client.once('close', onEnd);
    client.resume();
  });
}
