import type { IncomingMessage } from 'node:http';
import type { Target } from '../contract/target.js';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { ResponseHead } from '../net/http1-response-parser.js';
import { tlsFailureCode } from '../net/tls-failure.js';
import type { UpstreamProxy } from '../net/upstream-proxy.js';
import { watchBody } from './body-fault.js';
import { cutResponse } from './cut-response.js';
import { refuseOnResponse } from './deny-response.js';
import type { ExchangeTally } from './exchange-log.js';
import type { RequestView, ResponseView } from './exchange-views.js';
import { forwardRequestHeaders, forwardResponseHeaders, forwardTrailers, responseTrailerPairs } from './hop-by-hop.js';
import { relayInterim } from './interim-head.js';
import type { OriginConnection, OriginExchange, OriginRequest } from './origin-connection.js';
import type { Acquired, QueuedAcquire } from './origin-pool.js';
import { bindsConnection, keepPinned, takePinned } from './pinned-origin.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { parentFailureDetail, requestHead, requestRoute, routeFailureCode } from './request-route.js';
import { hostHeader, type SplitTarget } from './request-target.js';
import { ReuseHandover } from './reuse-handover.js';
import { framedByTransferEncoding, keepsChunkedFraming, losesTransferCoding } from './response-framing.js';
import { discardUnsentBody, unsentBodyCloses } from './unsent-body.js';
import { upstreamErrorCode } from './upstream-error.js';
import { failureCode } from './shutdown-cut.js';

type Split = Extract<SplitTarget, { ok: true }>;

/** Methods sent again after a reused connection closed unanswered (RFC 9110 §9.2.2), when they carry no body. */
const IDEMPOTENT: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/**
 * Send one allowed request on a pooled connection for its route (request-route.ts: straight to
 * exactly the checked addresses, or through the upstream proxy `via`), and stream the response
 * back, read by our own parser whichever the route (hop-by-hop and X-Kaizen-* removed, chunked
 * framing and trailers kept where the client can take them, backpressure both ways, the request
 * abandoned when the client goes away). A request without a body whose reused connection had just
 * been closed goes once more, on a fresh connection. The upstream proxy's 407 is never relayed.
 */
export function dispatchUpstream(
  proxy: ProxyContext,
  req: RequestView,
  body: IncomingMessage | null,
  res: ResponseView,
  target: Target,
  split: Split,
  addresses: readonly string[],
  via: UpstreamProxy | null,
  tally: ExchangeTally,
): void {
  const secure = split.scheme === 'https';
  const route = requestRoute(target, secure, addresses, via);
  const method = req.method ?? 'GET';
  const length = req.headers['content-length'];
  // node:http took the request's framing (request-framing.ts refused the ambiguous kinds): a chunked body stays chunked.
  const chunkedBody = req.headers['transfer-encoding'] !== undefined;
  const hasBody = chunkedBody || (length !== undefined && length !== '0');
  const upload = hasBody ? body : null;
  const host = hostHeader(target.host, target.port, target.hostType === 'ipv6', split.scheme);
  const request: OriginRequest = {
    method,
    head: requestHead(method, route, host, split.path, forwardRequestHeaders(req.rawHeaders, { host, chunked: chunkedBody, method })),
    body: upload,
    onBodyChunk: (bytes) => {
      tally.bytesUp += bytes;
    },
    ...(chunkedBody ? { chunked: { trailers: () => forwardTrailers(req.rawTrailers, req.rawHeaders, false) } } : {}),
  };
  const expectsContinue = req.headers.expect !== undefined;
  let connection: OriginConnection | null = null;
  /** Waiting in the destination's queue for a connection (all of them busy). */
  let queued: QueuedAcquire | null = null;
  let mayRetry = IDEMPOTENT.has(method) && !hasBody;
  let failed = false;
  /** The answer's (final) head came: a failure is no longer the upstream proxy's (routeFailureCode). */
  let answered = false;
  let chunked = false;
  // Connection-bound authentication (NTLM, Negotiate): the destination connection that carries it
  // is kept for this client connection and agent alone, never pooled (pinned-origin.ts).
  const conn = proxy.registry.get(req.socket);
  // Made only when a pin is in play: most requests never need it.
  const pinKey = (): string => `${proxy.pool.origins.key(route)} ${target.authority}\n${proxy.agent}`;
  let pin = bindsConnection(req.rawHeaders, 'authorization');
  const keeper = (kept: OriginConnection): void => {
    keepPinned(conn, req.socket, pinKey(), kept);
  };
  /** The answer's head (its Connection tokens name fields its trailers lose too). */
  let answerHeaders: readonly string[] = [];
  /**
   * The destination's head, relayed with the body bytes of its read once that read is parsed (or
   * at the end): a body that breaks anywhere in that read is still answered 502. A head that came
   * alone goes out as soon as its read is parsed (onParsed).
   */
  let held: ResponseHead | null = null;
  /**
   * The body bytes of the read being parsed, relayed once it is (relayBody): a destination's read
   * of many small chunks goes to the client in one write, not one each (chunk boundaries are
   * hop-by-hop). `first` alone, the usual read of one chunk, is written as it came; `gathered` is
   * made only when the read brings a second.
   */
  let first: Buffer | null = null;
  let gathered: Buffer[] | null = null;

  /** `stage`: where it failed, for the upstream_proxy warning of a failure at the parent (its 407 says so itself). */
  const fail = (error: KaizenProxyError, stage: 'dial' | 'exchange' | 407 = 'exchange'): void => {
    if (failed || res.writableFinished || res.destroyed) return;
    failed = true;
    // The destination's queue was full, or the client's body malformed: the proxy's own answers, not the destination's failure.
    const own = error.code === 'KZP_ERR_LIMIT_DESTINATION' || error.code === 'KZP_ERR_BAD_REQUEST';
    const underlying = own ? error.code : upstreamErrorCode(error);
    const code = failureCode(proxy.lifecycle, routeFailureCode(route, underlying, answered));
    tally.code = code;
    if (code === 'KZP_ERR_UPSTREAM_PROXY' && route.kind === 'parent') {
      const detail = stage === 407 ? 'status 407' : parentFailureDetail(underlying, stage);
      proxy.connector.reportFailure({ proxy: route.proxy.url, target: target.authority, detail, status: stage === 407 ? 407 : null });
    }
    // Cut by the shutdown: the client's connection is reset already, with nothing to answer.
    if (code === 'KZP_ERR_SHUTDOWN') {
      cutResponse(res, req.socket);
      return;
    }
    tally.tlsError = tlsFailureCode(error);
    if (res.headersSent) {
      // Cut short with bytes of the answer out: the client reads a truncated response, the log its code.
      cutResponse(res, req.socket);
      return;
    }
    held = null;
    const malformed = code === 'KZP_ERR_BAD_REQUEST';
    const refusal = errorRefusal(code, malformed ? { message: error.message } : { target: target.authority });
    tally.status = refuseOnResponse(body, res, refusal, proxy.lifecycle.draining || malformed, proxy.lingerMs);
  };

  /** Writes the body bytes of the read just parsed; false when the client is slow (stop reading the destination). */
  const relayBody = (): boolean => {
    const chunk = first;
    if (chunk === null) return true;
    const chunks = gathered;
    first = null;
    gathered = null;
    const bytes = chunks === null ? chunk : Buffer.concat(chunks);
    tally.bytesDown += bytes.length;
    return res.write(bytes);
  };

  /** Writes the held head; false (the exchange failed) when it cannot be relayed. */
  const relayHead = (head: ResponseHead): boolean => {
    held = null;
    const relayed = forwardResponseHeaders(head.rawHeaders, chunked, framedByTransferEncoding(head), head.status);
    // A closing proxy finishes this exchange but takes no further request on the connection; nor
    // does one answered before its body was all sent, when what is left may be too large to
    // discard (the refusals' rule, deny-response.ts): an answer that completes before the body
    // does is followed by a lingering close (onComplete).
    if (proxy.lifecycle.draining || unsentBodyCloses(upload)) relayed.push('Connection', 'close');
    // Both responses add Date (sendDate) only to a head without one (RFC 9110 §6.6.1).
    try {
      res.writeHead(head.status, head.statusMessage, relayed);
    } catch {
      connection?.abort();
      fail(protocolError('response head not relayable'));
      return false;
    }
    tally.status = head.status;
    return true;
  };

  res.once('close', () => {
    if (res.writableFinished) return;
    connection?.abort();
    // Out of the queue at once, so the destination's next free connection goes to a client still there.
    queued?.cancel();
    queued = null;
  });
  res.on('drain', () => {
    connection?.resume();
  });

  const exchange: OriginExchange = {
    onHead(head: ResponseHead) {
      if (route.kind === 'parent' && head.status === 407) {
        // The upstream refused our credentials: never relayed (the client would answer it to us).
        connection?.abort();
        fail(new KaizenProxyError('KZP_ERR_UPSTREAM_PROXY', 'upstream proxy answered 407'), 407);
        return;
      }
      answered = true;
      answerHeaders = head.rawHeaders;
      if (!pin && bindsConnection(head.rawHeaders, 'www-authenticate')) {
        pin = true;
        connection?.keepFor(keeper);
      }
      const transferEncoded = framedByTransferEncoding(head);
      chunked = keepsChunkedFraming(req, head.status, transferEncoded);
      if (transferEncoded && !chunked && losesTransferCoding(req, head.status, head.rawHeaders)) {
        connection?.abort();
        fail(protocolError('transfer coding the client cannot take'));
        return;
      }
      // Written with the body bytes of the same read, in one write, once the read is parsed: a body
      // broken in them (a bad chunk size) is still answered 502, not a head and a cut.
      held = head;
    },
    onInterim(head) {
      // Before the final head, as the destination sent it: a 100 only to a client that asked for one.
      relayInterim(req, res, head, expectsContinue);
    },
    onBody(chunk) {
      if (first === null) first = chunk;
      else if (gathered === null) gathered = [first, chunk];
      else gathered.push(chunk);
      // Written when the read is parsed (onParsed, or the answer's end or failure).
      return true;
    },
    /**
     * A read is parsed: its body bytes go to the client in one write, after the head when the read
     * brought it. A head without body bytes (a stream, a long poll, an answer still being made)
     * reaches the client now, as a direct connection gives it, not with a first body byte that may
     * be minutes away.
     */
    onParsed() {
      if (held !== null) {
        if (failed || !relayHead(held)) return true;
        if (first === null) {
          res.flushHeaders();
          return true;
        }
      }
      return relayBody();
    },
    onComplete(trailers) {
      connection = null;
      // The destination answered without reading the whole body (an auth check, a size limit): its
      // pump stopped, the body paused where the destination's socket was full. Read on and discard
      // it, within the refusals' bounds, or a client that sends its whole body before reading
      // (python's http.client) never gets to this answer and the connection stays open for good.
      if (held !== null && !relayHead(held)) return;
      relayBody();
      if (chunked && trailers.length > 0) res.addTrailers(responseTrailerPairs(trailers, answerHeaders));
      res.end();
      discardUnsentBody(upload, proxy.lingerMs);
    },
    onError(error, unanswered) {
      connection = null;
      if (unanswered && mayRetry && !res.destroyed) {
        mayRetry = false;
        send(true);
        return;
      }
      // What the read brought before the failure reaches the client before its cut; with the head
      // still held, none of it went out, and the client gets a 502 instead.
      if (held === null) relayBody();
      else first = gathered = null;
      fail(error);
    },
  };

  const acquired: Acquired = (result) => {
    queued = null;
    if (!result.ok) {
      fail(result.error, 'dial');
      return;
    }
    if (failed || res.destroyed) {
      result.connection.release();
      return;
    }
    connection = result.connection;
    if (pin) connection.keepFor(keeper);
    connection.send(request, exchange);
  };
  // A malformed rest of the body before the answer began: the destination's exchange (its
  // connection holds part of a body) is abandoned and the client answered 400 (body-fault.ts).
  if (body !== null && upload !== null) {
    watchBody(conn, body, (error) => {
      if (failed || res.headersSent || res.destroyed) return false;
      connection?.abort();
      queued?.cancel();
      queued = null;
      fail(error);
      return true;
    });
  }
  const fromPool = (fresh: boolean, callback: Acquired): QueuedAcquire | null => proxy.pool.origins.acquire(route, fresh, callback);
  const send = (fresh: boolean): void => {
    const pinned = fresh || conn.pinned === null ? null : takePinned(conn, pinKey());
    // A pinned connection, like a pooled one, a loop turn late (reuse-handover.ts); the pool's if it turned out closed.
    queued = pinned === null ? fromPool(fresh, acquired) : new ReuseHandover(pinned, acquired, (again) => fromPool(false, again));
  };
  send(false);
}

function protocolError(message: string): KaizenProxyError {
  return new KaizenProxyError('KZP_ERR_UPSTREAM_PROTOCOL', message);
}
