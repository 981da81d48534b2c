import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { Target } from '../contract/target.js';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import { tlsFailureCode } from '../net/tls-failure.js';
import { cutResponse } from './cut-response.js';
import { refuseOnResponse } from './deny-response.js';
import type { ExchangeTally } from './exchange-log.js';
import { forwardRequestHeaders, trailerPairs } from './hop-by-hop.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { hostHeader, type SplitTarget } from './request-target.js';
import { limitInterimAnswers } from './interim-budget.js';
import { MAX_RESPONSE_HEAD_BYTES } from './origin-pool.js';
import { discardUnsentBody, unsentBody, unsentBodyCloses } from './unsent-body.js';
import { upstreamErrorCode } from './upstream-error.js';
import { failureCode } from './shutdown-cut.js';
import type { RequestView, ResponseView } from './exchange-views.js';
import { relayResponse } from './upstream-relay.js';
import { DOUBLE_FRAMING, DOUBLE_FRAMING_MESSAGE, doubleFramed } from './double-framing.js';
import { agentsThrough } from './pinned-upstream.js';
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
  const method = req.method ?? 'GET';
  const route = routeRequest(agentsThrough(proxy, req, via, target, split.scheme), target, split, via, {
    method,
    // The method: TRACE and OPTIONS count Max-Forwards down, as on the direct path.
    headers: forwardRequestHeaders(req.rawHeaders, { host, chunked, method }),
    host,
  });
  const upstream = route.secure ? httpsRequest(route.options) : httpRequest(route.options);
  // Every line of the answer's head, as on our listeners (node:http keeps 1,000 unless told):
  // a framing or Connection line past them would be parsed but never seen. Its size is bounded.
  upstream.maxHeadersCount = 0;
  limitInterimAnswers(upstream, MAX_RESPONSE_HEAD_BYTES);

  let failed = false;
  let answered = false;
  /** The answer being relayed, once its head is in. */
  let answer: IncomingMessage | null = null;
  const fail = (error: unknown): void => {
    if (failed || res.writableFinished || res.destroyed) return;
    failed = true;
    stopPump();
    // Absolute-form through the upstream: anything before its answer is the upstream's failure,
    // but an answer that cannot be relayed (or parsed: node:http's HPE_* codes, a head past
    // maxHeaderSize among them) is the destination's (KZP_ERR_UPSTREAM_PROTOCOL).
    const known = upstreamErrorCode(error);
    const code = failureCode(proxy.lifecycle, route.forwardProxy !== null && !answered && known !== 'KZP_ERR_UPSTREAM_PROTOCOL' ? 'KZP_ERR_UPSTREAM_PROXY' : known);
    tally.code = code;
    if (code === 'KZP_ERR_UPSTREAM_TLS') tally.tlsError = tlsFailureCode(error);
    // Cut by the shutdown: the client's connection is reset already, with nothing to answer.
    if (code === 'KZP_ERR_SHUTDOWN' || res.headersSent) {
      cutResponse(res, req.socket);
      return;
    }
    // An answer the direct path would relay, refused here: said so to the client and on the closed line.
    const double = code === 'KZP_ERR_UPSTREAM_PROTOCOL' && doubleFramed(error);
    if (double) tally.protocolError = DOUBLE_FRAMING;
    const refusal = errorRefusal(code, double ? { target: target.authority, message: DOUBLE_FRAMING_MESSAGE } : { target: target.authority });
    tally.status = refuseOnResponse(body, res, refusal, proxy.lifecycle.draining, proxy.lingerMs);
  };

  upstream.on('error', (error: Error) => {
    // Bytes after a whole answer (a 204 or 304 followed by the body it cannot have): node:http's
    // parser fails on them as the next answer and drops the connection; this one is relayed whole.
    if (answer?.complete === true) return;
    fail(error);
  });
  // A 101 to a request that asked for no upgrade (upgrade requests take upgrade-tunnel.ts): without
  // a listener node:http would destroy the socket and say nothing, and the client would wait forever.
  upstream.on('upgrade', (_switched: IncomingMessage, socket: Socket) => {
    socket.destroy();
    answered = true;
    fail(new KaizenProxyError('KZP_ERR_UPSTREAM_PROTOCOL', 'unexpected 101 Switching Protocols'));
  });
  // Any other way the request could end with neither an answer nor an error: never a silent hang.
  upstream.once('close', () => {
    if (!answered) fail(new KaizenProxyError('KZP_ERR_UPSTREAM_CONNECT', 'closed without an answer'));
  });
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
    answer = upstreamRes;
    relayResponse(req, res, upstreamRes, tally, fail, {
      // A closing proxy finishes this exchange but takes no further request on the connection; nor
      // does one answered before its body was all sent, when what is left may be too large to
      // discard (the direct path's rule, upstream-dispatch.ts).
      closes: () => proxy.lifecycle.draining || unsentBodyCloses(body),
      done: () => {
        // The destination answered without reading the whole body (an auth check, a size limit):
        // the pump stops, often paused where the upstream's socket was full, and the rest is read
        // on and discarded (a lingering close when the head said so), or a client that sends its
        // whole body before reading (python's http.client) never gets to this answer. The
        // upstream request, never finished, goes with its connection, as on the direct path.
        if (unsentBody(body) === null) return;
        stopPump();
        upstream.destroy();
        discardUnsentBody(body, proxy.lingerMs);
      },
    });
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

function noop(): void {
  // No body: nothing to hand back.
}
