import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Target } from '../contract/target.js';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import { tlsFailureCode } from '../net/tls-failure.js';
import { cutResponse } from './cut-response.js';
import { refuseOnResponse } from './deny-response.js';
import type { ExchangeTally } from './exchange-log.js';
import { forwardRequestHeaders, forwardResponseHeaders, responseTrailerPairs, trailerPairs } from './hop-by-hop.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { hostHeader, type SplitTarget } from './request-target.js';
import { upstreamErrorCode } from './upstream-error.js';
import { chunkedBeforeLast, keepsChunkedFraming, losesTransferCoding } from './response-framing.js';
import type { RequestView, ResponseView } from './exchange-views.js';
import { routeRequest } from './upstream-route.js';
import type { UpstreamProxy } from '../net/upstream-proxy.js';

type Split = Extract<SplitTarget, { ok: true }>;

/**
 * Send one allowed request through the configured upstream proxy (upstream_proxy) on node:http's
 * agents, and stream the response back. Bodies flow with backpressure both ways; trailers and
 * `100 Continue` are relayed; the upstream request is aborted when the client goes away.
 */
export function sendUpstream(
  proxy: ProxyContext,
  req: RequestView,
  body: IncomingMessage | null,
  res: ResponseView,
  target: Target,
  split: Split,
  via: UpstreamProxy,
  tally: ExchangeTally,
): void {
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const host = hostHeader(target.host, target.port, target.hostType === 'ipv6', split.scheme);
  const route = routeRequest(proxy, target, split, via, {
    method: req.method ?? 'GET',
    headers: forwardRequestHeaders(req.rawHeaders, { host, chunked }),
    host,
  });
  const upstream = route.secure ? httpsRequest(route.options) : httpRequest(route.options);
  // Every line of the answer's head, as on our listeners (node:http keeps 1,000 unless told):
  // a framing or Connection line past them would be parsed but never seen. Its size is bounded.
  upstream.maxHeadersCount = 0;

  let failed = false;
  let answered = false;
  const fail = (error: unknown): void => {
    if (failed || res.writableFinished) return;
    failed = true;
    stopPump();
    // Absolute-form through the upstream: anything before its answer is the upstream's failure;
    // an answer that cannot be relayed is the destination's (KZP_ERR_UPSTREAM_PROTOCOL).
    const code = route.forwardProxy !== null && !answered ? 'KZP_ERR_UPSTREAM_PROXY' : upstreamErrorCode(error);
    tally.code = code;
    if (code === 'KZP_ERR_UPSTREAM_TLS') tally.tlsError = tlsFailureCode(error);
    if (res.headersSent) {
      cutResponse(res, req.socket);
      return;
    }
    tally.status = refuseOnResponse(body, res, errorRefusal(code, { target: target.authority }), proxy.lifecycle.draining, proxy.lingerMs);
  };

  upstream.on('error', fail);
  upstream.setTimeout(proxy.idleTimeoutMs);
  upstream.on('socket', (socket: Socket) => {
    // Until connected, the connect timeout applies; Node sets the idle timeout once it connects.
    if (socket.connecting) socket.setTimeout(proxy.connectTimeoutMs);
  });
  upstream.on('timeout', () => {
    upstream.destroy(new KaizenProxyError('KZP_ERR_UPSTREAM_TIMEOUT', 'destination timed out'));
  });
  if (req.headers.expect !== undefined) {
    upstream.on('continue', () => {
      res.writeContinue();
    });
  }
  upstream.on('response', (upstreamRes: IncomingMessage) => {
    if (route.forwardProxy !== null && upstreamRes.statusCode === 407) {
      // The upstream refused our credentials: never relayed (the client would answer it to us).
      upstreamRes.resume();
      proxy.connector.reportFailure({ proxy: route.forwardProxy.url, target: target.authority, detail: 'status 407', status: 407 });
      fail(new KaizenProxyError('KZP_ERR_UPSTREAM_PROXY', 'upstream proxy answered 407'));
      return;
    }
    answered = true;
    relayResponse(req, res, upstreamRes, tally, fail, proxy.lifecycle.draining);
  });
  res.once('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  const stopPump = pumpBody(body, upstream, tally);
}

/** Request body to the destination with backpressure; returns a stop that hands the body back. */
function pumpBody(req: IncomingMessage | null, upstream: ClientRequest, tally: ExchangeTally): () => void {
  if (req === null) {
    upstream.end();
    return noop;
  }
  const onData = (chunk: Buffer): void => {
    tally.bytesUp += chunk.length;
    if (!upstream.write(chunk)) req.pause();
  };
  const onDrain = (): void => {
    req.resume();
  };
  const onEnd = (): void => {
    if (req.rawTrailers.length > 0) upstream.addTrailers(trailerPairs(req.rawTrailers, req.rawHeaders));
    upstream.end();
  };
  req.on('data', onData);
  upstream.on('drain', onDrain);
  req.once('end', onEnd);
  return () => {
    req.off('data', onData);
    req.off('end', onEnd);
    upstream.off('drain', onDrain);
    req.resume();
  };
}

function relayResponse(
  req: RequestView,
  res: ResponseView,
  upstreamRes: IncomingMessage,
  tally: ExchangeTally,
  fail: (error: unknown) => void,
  draining: boolean,
): void {
  const status = upstreamRes.statusCode ?? 502;
  const codings = upstreamRes.headers['transfer-encoding'];
  const transferEncoded = codings !== undefined;
  const chunked = keepsChunkedFraming(req, status, transferEncoded);
  // A Transfer-Encoding other than `chunked` alone (rare) may not be relayable: llhttp reads a body
  // whose codings have `chunked` before the last until close, chunk framing still in (relayed, it
  // would be chunked twice), and an HTTP/1.0 client cannot be told of a coding such as gzip.
  if (transferEncoded && codings !== 'chunked' && (chunkedBeforeLast(codings) || (!chunked && losesTransferCoding(req, status, upstreamRes.rawHeaders)))) {
    upstreamRes.destroy();
    fail(new KaizenProxyError('KZP_ERR_UPSTREAM_PROTOCOL', 'transfer coding not relayable'));
    return;
  }
  const headers = forwardResponseHeaders(upstreamRes.rawHeaders, chunked, transferEncoded);
  // A closing proxy finishes this exchange but takes no further request on the connection.
  if (draining) headers.push('Connection', 'close');
  try {
    res.writeHead(status, upstreamRes.statusMessage ?? '', headers);
  } catch {
    upstreamRes.destroy();
    fail(new KaizenProxyError('KZP_ERR_UPSTREAM_PROTOCOL', 'response head not relayable'));
    return;
  }
  tally.status = status;
  upstreamRes.on('data', (chunk: Buffer) => {
    tally.bytesDown += chunk.length;
    if (!res.write(chunk)) upstreamRes.pause();
  });
  res.on('drain', () => upstreamRes.resume());
  upstreamRes.once('end', () => {
    if (upstreamRes.rawTrailers.length > 0) res.addTrailers(responseTrailerPairs(upstreamRes.rawTrailers, upstreamRes.rawHeaders));
    res.end();
  });
  // Cut short by the destination: the client must see a truncated response, not a complete one,
  // and the closed line (and observers) the failure's code, not a success (fail: headers are out).
  upstreamRes.on('error', fail);
  upstreamRes.once('close', () => {
    if (!upstreamRes.complete) fail(new KaizenProxyError('KZP_ERR_UPSTREAM_CONNECT', 'destination closed the connection mid-answer'));
  });
}

function noop(): void {
  // No body: nothing to hand back.
}
