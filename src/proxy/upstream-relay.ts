import type { IncomingMessage } from 'node:http';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import { bodyFraming, statusLineProblem } from '../net/http1-head.js';
import type { ExchangeTally } from './exchange-log.js';
import type { RequestView, ResponseView } from './exchange-views.js';
import { forwardResponseHeaders, responseTrailerPairs } from './hop-by-hop.js';
import { keepsChunkedFraming, losesTransferCoding } from './response-framing.js';

/**
 * Relay an answer node:http's client read (the upstream_proxy path, upstream-request.ts) to the
 * client, judged and held as our own client's are (upstream-dispatch.ts):
 *
 * - node:http takes any version digits, any three-digit code and an empty Transfer-Encoding; an
 *   answer our own parser refuses (http1-head.ts) is refused here too, with the same reasons.
 * - The head is held until the first body bytes or the end, so a body broken right after it (a
 *   bad first chunk size) is still answered 502 with its code, not a head and a reset. A head that
 *   came alone goes out once node:http has parsed the read it came in (setImmediate): a stream or
 *   a long poll has its head at once, as a direct connection gives it.
 *
 * `fail` is the exchange's: it answers 502 while the head is held, and cuts the response after.
 * `exchange.closes` says, as the head goes out, whether it says `Connection: close`;
 * `exchange.done` follows the answer's end (the rest of a body not all sent, upstream-request.ts).
 */
export function relayResponse(
  req: RequestView,
  res: ResponseView,
  upstreamRes: IncomingMessage,
  tally: ExchangeTally,
  fail: (error: unknown) => void,
  exchange: { readonly closes: () => boolean; readonly done: () => void },
): void {
  const status = upstreamRes.statusCode ?? 0;
  const problem = answerProblem(req, upstreamRes, status);
  if (problem !== null) {
    upstreamRes.destroy();
    fail(new KaizenProxyError('KZP_ERR_UPSTREAM_PROTOCOL', problem));
    return;
  }
  const transferEncoded = upstreamRes.headers['transfer-encoding'] !== undefined;
  const chunked = keepsChunkedFraming(req, status, transferEncoded);
  const headers = forwardResponseHeaders(upstreamRes.rawHeaders, chunked, transferEncoded, status);

  let held = true;
  /** Writes the held head; false when it cannot be (the exchange failed: answered 502, or the client left). */
  const relayHead = (): boolean => {
    held = false;
    if (res.headersSent || res.destroyed) {
      upstreamRes.destroy();
      return false;
    }
    if (exchange.closes()) headers.push('Connection', 'close');
    try {
      res.writeHead(status, upstreamRes.statusMessage ?? '', headers);
    } catch {
      upstreamRes.destroy();
      fail(new KaizenProxyError('KZP_ERR_UPSTREAM_PROTOCOL', 'response head not relayable'));
      return false;
    }
    tally.status = status;
    return true;
  };

  upstreamRes.on('data', (chunk: Buffer) => {
    if (held && !relayHead()) return;
    tally.bytesDown += chunk.length;
    if (!res.write(chunk)) upstreamRes.pause();
  });
  res.on('drain', () => upstreamRes.resume());
  upstreamRes.once('end', () => {
    if (held && !relayHead()) return;
    if (upstreamRes.rawTrailers.length > 0) res.addTrailers(responseTrailerPairs(upstreamRes.rawTrailers, upstreamRes.rawHeaders));
    res.end();
    exchange.done();
  });
  // Cut short by the destination: the client must see a truncated response, not a complete one,
  // and the closed line (and observers) the failure's code, not a success.
  upstreamRes.on('error', fail);
  upstreamRes.once('close', () => {
    if (!upstreamRes.complete) fail(new KaizenProxyError('KZP_ERR_UPSTREAM_CONNECT', 'destination closed the connection mid-answer'));
  });
  setImmediate(() => {
    if (held && relayHead()) res.flushHeaders();
  });
}

/** Why this answer cannot be relayed, or null. */
function answerProblem(req: RequestView, upstreamRes: IncomingMessage, status: number): string | null {
  const statusLine = statusLineProblem(upstreamRes.httpVersionMajor, upstreamRes.httpVersionMinor, status);
  if (statusLine !== null) return statusLine;
  // Interim answers come as 'information' (101 as 'upgrade', upstream-request.ts); a 1xx here had no Upgrade.
  if (status < 200) return 'interim status as the final answer';
  const noBody = req.method === 'HEAD' || status === 204 || status === 304;
  const framing = bodyFraming(upstreamRes.rawHeaders, upstreamRes.httpVersionMinor === 0, noBody);
  if (typeof framing === 'string') return framing;
  // A coding other than `chunked` (gzip, say) an HTTP/1.0 client cannot be told of: not relayable.
  // (A `chunked` before the last coding, which llhttp reads until close, bodyFraming refused.)
  const codings = upstreamRes.headers['transfer-encoding'];
  if (codings !== undefined && codings !== 'chunked' && !keepsChunkedFraming(req, status, true) && losesTransferCoding(req, status, upstreamRes.rawHeaders)) {
    return 'transfer coding not relayable';
  }
  return null;
}
