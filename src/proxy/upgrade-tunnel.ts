import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { httpAction } from '../action/build-action.js';
import { methodOverride } from '../action/method-override.js';
import { parseAuthority } from '../action/target-parse.js';
import { secureUpstream } from '../net/secure-upstream.js';
import { tlsFailureCode } from '../net/tls-failure.js';
import { headArrived } from './handed-head.js';
import { reportClosed, tunnelOpened } from './exchange-events.js';
import { newTally, type ExchangeTally } from './exchange-log.js';
import { upgradeRequestHead } from './hop-by-hop.js';
import { authenticateRequest, requestSplit, splitRefusal } from './pinned-target.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { switchingHeadProblem, withoutKaizenHeaders } from './response-head.js';
import { hostHeader } from './request-target.js';
import { markTunnelCut } from './shutdown-cut.js';
import { spliceSockets } from './socket-pipe.js';
import { captureEarlyBytes, type EarlyCapture } from './early-bytes.js';
import type { ConnectionContext } from './connection-registry.js';
import { UpgradeWait } from './upgrade-wait.js';
import { relayDeclinedUpgrade } from './declined-upgrade.js';
import { forwardEarlyBytes, openTunnelUpstream, refuseTunnel } from './tunnel-open.js';
import { isWebSocketUpgrade, reparseAsOrdinary } from './ordinary-upgrade.js';
import type { ParserHandOff } from './parser-hand-off.js';
import { unmetExpectation } from './expectation.js';
import { forwardUpgradeBody, lengthFraming, type UpgradeBodyRelay } from './upgrade-body.js';
import { chunkedFraming } from './upgrade-chunked-body.js';
import { awaitUpgradeAnswer, statusOf } from './upgrade-answer.js';

/** Answered before any decision, as for any request (http-forward.ts). */
const EXPECTATION_REFUSAL = errorRefusal('KZP_ERR_EXPECTATION');
/** A chunked body whose framing does not parse (upgrade-chunked-body.ts): the request is malformed. */
const BAD_CHUNKS_REFUSAL = errorRefusal('KZP_ERR_BAD_REQUEST', { message: 'malformed chunked body' });

/**
 * An absolute-form request with `Upgrade: websocket`: decided like any request (scheme ws/wss),
 * then the destination is dialled, the request head is written to it (hop-by-hop cleaned, Host of
 * the checked target) with its body (upgrade-body.ts, Content-Length or chunked; an Expect other
 * than 100-continue is refused), interim answers are relayed (upgrade-answer.ts), and only a 101
 * answer switching to the protocol asked for
 * (relayed without any `X-Kaizen-*` header of its own) makes a tunnel, with bytes both ways; any
 * other answer is relayed as an ordinary response and the connection closed (declined-upgrade.ts). `https://` upgrades get verified TLS to the
 * destination. Any other Upgrade, and one in an HTTP/1.0 request, is dropped and the request handed
 * back to node:http's parser (`toParser`) as an ordinary one (ordinary-upgrade.ts).
 */
export function createUpgradeHandler(proxy: ProxyContext, toParser: ParserHandOff): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    if (!(socket instanceof Socket)) {
      socket.destroy();
      return;
    }
    // An HTTP/1.0 request's Upgrade is ignored (RFC 9110 §7.8), like any Upgrade but WebSocket.
    if (!isWebSocketUpgrade(req) || req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) {
      reparseAsOrdinary(req, socket, head, toParser);
      return;
    }
    proxy.lifecycle.begin();
    // A head the fast lane handed over is in: the upgrade is in flight from here (handed-head.ts).
    headArrived(proxy.registry.get(socket), proxy.lifecycle);
    handleUpgrade(proxy, req, socket, head).then(
      () => {
        proxy.lifecycle.end();
      },
      (error: unknown) => {
        proxy.logger.error({ err: error instanceof Error ? error.name : 'unknown' }, 'upgrade failed');
        socket.destroy();
        proxy.lifecycle.end();
      },
    );
  };
}

async function handleUpgrade(base: ProxyContext, req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
  const auth = authenticateRequest(base, req);
  const proxy = auth.proxy;
  const conn = proxy.registry.get(client);
  const tally = newTally('upgrade', performance.now());
  if (!auth.ok) {
    tally.target = auth.session;
    refuseTunnel(proxy, conn, client, tally, auth.refusal);
    return;
  }
  const split = requestSplit(proxy, req, conn);
  if (!split.ok) {
    refuseTunnel(proxy, conn, client, tally, splitRefusal(split, tally));
    return;
  }
  const parsed = parseAuthority(split.authority);
  if (!parsed.ok) {
    refuseTunnel(proxy, conn, client, tally, errorRefusal(parsed.code, { message: parsed.message }));
    return;
  }
  const target = parsed.value;
  tally.target = target.authority;
  if (unmetExpectation(req)) {
    refuseTunnel(proxy, conn, client, tally, EXPECTATION_REFUSAL);
    return;
  }
  const secure = split.scheme === 'https';
  const method = req.method ?? 'GET';
  // The method an origin honouring X-HTTP-Method-Override (and kin) executes: the action's own.
  const override = methodOverride(req.rawHeaders, split.path);
  if (!override.ok) {
    refuseTunnel(proxy, conn, client, tally, errorRefusal('KZP_ERR_BAD_REQUEST', { message: override.message }));
    return;
  }
  const labels = proxy.labels.request(target, method, split.pathOnly, override.method);
  if (!labels.ok) {
    refuseTunnel(proxy, conn, client, tally, errorRefusal('KZP_ERR_BAD_REQUEST', { message: labels.message }));
    return;
  }
  const action = httpAction(target, { method: override.method ?? method, path: split.pathOnly, scheme: secure ? 'wss' : 'ws' }, labels.extra);
  tally.action = action;
  let early = captureEarlyBytes(client);
  // Until the destination answers, a client that leaves gives it up at once (upgrade-wait.ts).
  const wait = new UpgradeWait(client);
  const dialed = await openTunnelUpstream({ proxy, conn, client, target, action, tally, early, relayable: !secure });
  if (dialed === null) {
    wait.stop();
    return;
  }

  let upstream: Socket = dialed;
  if (secure) {
    const tls = await secureUpstream(dialed, {
      host: target.host,
      hostIsName: target.hostType === 'dns',
      secureContext: proxy.pool.secureContext,
      timeoutMs: proxy.connectTimeoutMs,
      owner: client,
    });
    if (tls instanceof Error || client.destroyed) {
      wait.stop();
      if (!(tls instanceof Error)) tls.destroy();
      if (client.destroyed) abandonUpgrade(proxy, conn, tally, early);
      else {
        tally.tlsError = tlsFailureCode(tls);
        refuseTunnel(proxy, conn, client, tally, errorRefusal('KZP_ERR_UPSTREAM_TLS', { target: target.authority }), early);
      }
      return;
    }
    upstream = tls;
  }
  wait.watch(upstream);

  const requestHead = upgradeRequestHead(method, split.path, req.rawHeaders, hostHeader(target.host, target.port, target.hostType === 'ipv6', split.scheme));
  const headBytes = Buffer.byteLength(requestHead);
  // Only the request goes ahead, its body with it (upgrade-body.ts): what the client
  // sent after it (`head`, early bytes) waits for a 101, as a client must (RFC 6455 §4.1), since
  // anything else leaves the connection HTTP and those bytes would be the next request, undecided,
  // to this destination (declined-upgrade.ts).
  upstream.write(requestHead);
  let after = head;
  let body: UpgradeBodyRelay | null = null;
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const bodyLength = Number(req.headers['content-length'] ?? '0');
  if (chunked || bodyLength > 0) {
    const { chunks, ended } = early.release();
    body = forwardUpgradeBody(client, upstream, head.length > 0 ? [head, ...chunks] : chunks, ended, chunked ? chunkedFraming(req.rawHeaders) : lengthFraming(bodyLength));
    early = body;
    after = Buffer.alloc(0);
  }
  const { read: answer, interimBytes } = await awaitUpgradeAnswer(client, upstream, req, proxy.idleTimeoutMs);
  wait.stop();
  // The body forwarded so far, for an exchange that ends here (the early capture is released in this
  // turn); a tunnel counts again when it closes.
  tally.bytesUp = Math.max(0, upstream.bytesWritten - headBytes);
  if (client.destroyed) {
    upstream.destroy();
    abandonUpgrade(proxy, conn, tally, early);
    return;
  }
  if (body?.problem != null) {
    upstream.destroy();
    refuseTunnel(proxy, conn, client, tally, BAD_CHUNKS_REFUSAL, early);
    return;
  }
  if (!answer.ok || (statusOf(answer.head) === 101 && switchingHeadProblem(answer.head, req.headers.upgrade ?? '') !== null)) {
    upstream.destroy();
    refuseTunnel(proxy, conn, client, tally, errorRefusal(answer.ok ? 'KZP_ERR_UPSTREAM_PROTOCOL' : answer.code, { target: target.authority }), early);
    return;
  }
  if (statusOf(answer.head) !== 101) {
    early.release();
    await relayDeclinedUpgrade({ proxy, conn, req, client, upstream, tally, target: target.authority }, answer.head, answer.rest);
    return;
  }
  tally.status = 101;
  tunnelOpened(proxy, tally);
  client.write(withoutKaizenHeaders(answer.head));
  if (answer.rest.length > 0) client.write(answer.rest);
  if (after.length > 0) upstream.write(after);
  forwardEarlyBytes(early, upstream);
  // What the tunnel carried, as bytes_up counts: not the answer's heads (interim ones and the 101).
  const answerHeadBytes = interimBytes + answer.head.length;
  spliceSockets(client, upstream, proxy.idleSweep.watch(client, upstream), proxy.lifecycle, (cut) => {
    tally.bytesUp = Math.max(0, upstream.bytesWritten - headBytes);
    tally.bytesDown = Math.max(0, upstream.bytesRead - answerHeadBytes);
    markTunnelCut(tally, cut);
    reportClosed(proxy, conn, tally, !cut);
  });
}

/** The client left before the destination's answer (upgrade-wait.ts): nothing to answer, the exchange logged closed with status 0. */
function abandonUpgrade(proxy: ProxyContext, conn: ConnectionContext, tally: ExchangeTally, early: EarlyCapture): void {
  early.release();
  tally.status = 0;
  reportClosed(proxy, conn, tally);
}
