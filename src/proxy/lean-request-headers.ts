import type { IncomingMessage } from 'node:http';
import type { LeanRequestHead } from '../net/http1-request-head.js';

/** The headers the shared handlers read of a fast-lane head (lane-connection.ts), by their lower-case names. */
export function requestHeaders(head: LeanRequestHead): IncomingMessage['headers'] {
  const headers: IncomingMessage['headers'] = {};
  if (head.host !== undefined) headers.host = head.host;
  if (head.proxyAuthorization !== undefined) headers['proxy-authorization'] = head.proxyAuthorization;
  return headers;
}
