import type { IncomingMessage } from 'node:http';
import type { ResponseHead } from '../net/http1-response-parser.js';

type RequestVersion = Pick<IncomingMessage, 'method' | 'httpVersionMajor' | 'httpVersionMinor'>;

/**
 * A transfer-encoded upstream response is relayed chunked (so its trailers can follow, and any
 * other transfer coding it carries can be named) when the client can take it: HTTP/1.1, a
 * response that has a body. Transfer-Encoding overrides Content-Length (RFC 9112 §6.3): a
 * response with both was framed by its Transfer-Encoding, and is relayed by it.
 */
export function keepsChunkedFraming(req: RequestVersion, status: number, transferEncoded: boolean): boolean {
  return transferEncoded && hasBody(req, status) && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1;
}

/**
 * A transfer-encoded response not relayed chunked (see keepsChunkedFraming) whose body still
 * carries a coding other than chunked (gzip, say): an HTTP/1.0 client takes no Transfer-Encoding,
 * so the body would reach it coded with nothing saying so, and is not relayed at all. Only asked
 * on that rare path; `rawHeaders` are the destination's, checked by its parser.
 */
export function losesTransferCoding(req: RequestVersion, status: number, rawHeaders: readonly string[]): boolean {
  if (!hasBody(req, status)) return false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    if (name.length !== 17 || name.toLowerCase() !== 'transfer-encoding') continue;
    for (const element of (rawHeaders[i + 1] ?? '').split(',')) {
      const coding = element.trim().toLowerCase();
      if (coding !== '' && coding !== 'chunked') return true;
    }
  }
  return false;
}

/**
 * The Transfer-Encoding of a response relayed chunked, from the destination's values joined as a
 * list: its codings in order, a final `chunked` (decoded on the way in) replaced by ours. The
 * common `chunked` alone costs a comparison.
 */
export function relayedTransferEncoding(received: string | null): string {
  if (received === null || received === 'chunked') return 'chunked';
  const codings: string[] = [];
  for (const element of received.split(',')) {
    const coding = element.trim();
    if (coding !== '') codings.push(coding);
  }
  if (codings.length > 0 && (codings[codings.length - 1] ?? '').toLowerCase() === 'chunked') codings.pop();
  codings.push('chunked');
  return codings.join(', ');
}

/**
 * The destination framed this response by Transfer-Encoding (chunked, or another coding and then
 * close): what keepsChunkedFraming and forwardResponseHeaders take as `transferEncoded`. A body
 * framed by length had no Transfer-Encoding (it would have overridden the length).
 */
export function framedByTransferEncoding(head: Pick<ResponseHead, 'chunked' | 'contentLength' | 'rawHeaders'>): boolean {
  if (head.chunked) return true;
  if (head.contentLength !== null) return false;
  for (let i = 0; i < head.rawHeaders.length; i += 2) {
    const name = head.rawHeaders[i] ?? '';
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
  }
  return false;
}

/** A response to this request with this status has a body (RFC 9110 §6.4.1). */
function hasBody(req: RequestVersion, status: number): boolean {
  return req.method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200;
}
