import type { IncomingMessage } from 'node:http';

type RequestVersion = Pick<IncomingMessage, 'method' | 'httpVersionMajor' | 'httpVersionMinor'>;

/**
 * A transfer-encoded upstream response is relayed chunked (so its trailers can follow) when the
 * client can take it: HTTP/1.1, a
 * response that has a body. Transfer-Encoding overrides Content-Length (RFC 9112 §6.3): a
 * response with both was framed by its Transfer-Encoding, and is relayed by it.
 */
export function keepsChunkedFraming(req: RequestVersion, status: number, transferEncoded: boolean): boolean {
  return transferEncoded && hasBody(req, status) && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1;
}

/** A response to this request with this status has a body (RFC 9110 §6.4.1). */
function hasBody(req: RequestVersion, status: number): boolean {
  return req.method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200;
}
