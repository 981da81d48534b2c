import type { IncomingMessage } from 'node:http';
import { namedFramingField } from '../net/framing-fields.js';

/**
 * Message framing Node's parser (llhttp, strict: insecureHTTPParser off) lets reach a handler but
 * a proxy must not relay, because the next hop could frame it differently (request smuggling).
 * llhttp itself refuses Content-Length with Transfer-Encoding, duplicate or listed Content-Length,
 * obsolete line folding, bare LF and bare CR; it lets through a Transfer-Encoding whose last coding
 * is not chunked (failing only later, mid-body), codings stacked on chunked, Transfer-Encoding in
 * HTTP/1.0, and versions other than 1.0 and 1.1. Nor does it mind a `Connection` naming
 * Content-Length, Transfer-Encoding or Host (framing-fields.ts): a request that asks the proxy to
 * drop its own framing. Returns why the request is refused, or null.
 */
export function framingProblem(req: Pick<IncomingMessage, 'httpVersion' | 'rawHeaders'>): string | null {
  if (req.httpVersion !== '1.1' && req.httpVersion !== '1.0') return 'HTTP version not supported';
  const encodings: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    if (name === 'transfer-encoding') encodings.push(req.rawHeaders[i + 1] ?? '');
    else if (name === 'connection' && namedFramingField(req.rawHeaders[i + 1] ?? '') !== null) return 'Connection names a framing field';
  }
  if (encodings.length === 0) return null;
  // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
  if (req.httpVersion === '1.0') return 'Transfer-Encoding in an HTTP/1.0 request';
  if (encodings.length !== 1 || encodings[0]?.trim().toLowerCase() !== 'chunked') return 'Transfer-Encoding other than chunked';
  return null;
}
