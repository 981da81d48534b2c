import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Target } from '../contract/target.js';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import { refuseOnResponse } from './deny-response.js';
import type { ExchangeTally } from './exchange-log.js';
import { forwardRequestHeaders, forwardResponseHeaders, trailerPairs } from './hop-by-hop.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { hostHeader, type SplitTarget } from './request-target.js';
import { keepsChunkedFraming } from './response-framing.js';
import { upstreamErrorCode } from './upstream-error.js';

type Split = Extract<SplitTarget, { ok: true }>;

/**
 * Whether a request can go through the undici pools (upstream-dispatch) rather than node:http:
 * direct to the destination (no upstream proxy for it), no `Expect: 100-continue` (undici does not
 * send it) and no chunked body (whose trailers undici would not relay). Bodies with a
 * Content-Length, and none, qualify: nearly every request an agent makes.
 */
export function canDispatch(proxy: ProxyContext, req: IncomingMessage, target: Target, split: Split): boolean {
  if (req.headers.expect !== undefined || req.headers['transfer-encoding'] !== undefined) return false;
  return proxy.connector.upstreamFor(split.scheme === 'https' ? 'tunnel' : 'http', target.host, target.port) === null;
}

/**
 * Send one allowed request to its destination through the undici pool for exactly the checked
 * addresses, and stream the response back: the same relay as upstream-request.ts (hop-by-hop and
 * X-Kaizen-* removed, chunked framing and trailers kept where the client can take them,
 * backpressure both ways, the upstream request aborted when the client goes away).
 */
export function dispatchUpstream(
  proxy: ProxyContext,
  req: IncomingMessage,
  res: ServerResponse,
  target: Target,
  split: Split,
  addresses: readonly string[],
  tally: ExchangeTally,
): void {
  const secure = split.scheme === 'https';
  const host = hostHeader(target.host, target.port, target.hostType === 'ipv6', split.scheme);
  const length = req.headers['content-length'];
  const hasBody = length !== undefined && length !== '0';
  let controller: Dispatcher.DispatchController | null = null;
  let chunked = false;
  let failed = false;
  let counting = false;

  const fail = (error: unknown): void => {
    if (failed || res.writableFinished) return;
    failed = true;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const code = upstreamErrorCode(error);
    tally.code = code;
    tally.status = refuseOnResponse(req, res, errorRefusal(code, { target: target.authority }), proxy.lifecycle.draining);
  };

  res.once('close', () => {
    if (!res.writableFinished) controller?.abort(CLIENT_GONE);
  });
  res.on('drain', () => {
    controller?.resume();
  });

  const handler: Dispatcher.DispatchHandler = {
    onRequestStart(started) {
      controller = started;
      if (res.destroyed) {
        started.abort(CLIENT_GONE);
        return;
      }
      // Counted from here: undici attaches its own reader in the same turn, before any chunk flows
      // (a listener attached earlier would start the body flowing with no one to send it).
      if (hasBody && !counting) {
        counting = true;
        req.on('data', (chunk: Buffer) => {
          tally.bytesUp += chunk.length;
        });
      }
    },
    onResponseStart(started, status, headers, statusMessage) {
      chunked = keepsChunkedFraming(req, status, headers['transfer-encoding'] !== undefined, headers['content-length'] !== undefined);
      const relayed = forwardResponseHeaders(rawStrings(started.rawHeaders), chunked);
      // A closing proxy finishes this exchange but takes no further request on the connection.
      if (proxy.lifecycle.draining) relayed.push('Connection', 'close');
      try {
        res.sendDate = false;
        res.writeHead(status, statusMessage, relayed);
      } catch {
        started.abort(new KaizenProxyError('KZP_ERR_UPSTREAM_PROTOCOL', 'response head not relayable'));
        return;
      }
      tally.status = status;
    },
    onResponseData(started, chunk) {
      tally.bytesDown += chunk.length;
      if (!res.write(chunk)) started.pause();
    },
    onResponseEnd(ended) {
      const trailers = rawStrings(ended.rawTrailers);
      if (chunked && trailers.length > 0) res.addTrailers(trailerPairs(trailers));
      res.end();
    },
    onResponseError(_failed, error) {
      fail(error);
    },
  };

  try {
    proxy.pool.origins.dispatcher(target, secure, addresses).dispatch(
      { method: req.method ?? 'GET', path: split.path, headers: forwardRequestHeaders(req.rawHeaders, { host, chunked: false }), body: hasBody ? req : null },
      handler,
    );
  } catch (error) {
    fail(error);
  }
}

const CLIENT_GONE = new KaizenProxyError('KZP_ERR_UPSTREAM_CONNECT', 'the client went away');

/** undici hands raw heads over as Buffers (latin1, as on the wire). */
function rawStrings(raw: Dispatcher.DispatchController['rawHeaders']): string[] {
  if (!Array.isArray(raw)) return [];
  return raw.map((item: Buffer | string) => (typeof item === 'string' ? item : item.toString('latin1')));
}
