import type { IncomingMessage } from 'node:http';

/**
 * A chunked upstream response is relayed chunked (so its trailers can follow) when the client
 * can take it: HTTP/1.1, a response that has a body. `transferEncoded` and `hasLength` describe
 * the destination's response head.
 */
export function keepsChunkedFraming(req: Pick<IncomingMessage, 'method' | 'httpVersionMajor' | 'httpVersionMinor'>, status: number, transferEncoded: boolean, hasLength: boolean): boolean {
  if (!transferEncoded || hasLength) return false;
  if (req.method === 'HEAD' || status === 204 || status === 304 || status < 200) return false;
  return req.httpVersionMajor === 1 && req.httpVersionMinor >= 1;
}
