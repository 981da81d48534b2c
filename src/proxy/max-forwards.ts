import type { IncomingMessage } from 'node:http';
import { answerOnResponse } from './deny-response.js';
import type { ResponseView } from './exchange-views.js';

/**
 * Max-Forwards (RFC 9110 §7.6.2): on TRACE and OPTIONS it counts the hops a request may still
 * take. A proxy that receives 0 is the final recipient and answers itself; any other count goes
 * on one less. Other methods carry the field unchanged (a recipient may ignore it there).
 */
export function countsHops(method: string): boolean {
  return method === 'TRACE' || method === 'OPTIONS';
}

/** The methods the proxy relays, as its own OPTIONS answer names them (TRACE stops here at 0). */
const ALLOW = 'GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, CONNECT';

const COUNT = /^\d+$/;

/** The value forwarded for a received one: one less when it is a count, as sent otherwise. */
export function decrementedMaxForwards(value: string): string {
  const count = value.trim();
  if (!COUNT.test(count) || /^0+$/.test(count)) return value;
  return (BigInt(count) - 1n).toString();
}

/** The first Max-Forwards of a TRACE or OPTIONS is a count of 0: the proxy is the last hop. */
export function isLastHop(method: string, rawHeaders: readonly string[]): boolean {
  if (!countsHops(method)) return false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    if (name.length !== 12 || name.toLowerCase() !== 'max-forwards') continue;
    const count = (rawHeaders[i + 1] ?? '').trim();
    return COUNT.test(count) && /^0+$/.test(count);
  }
  return false;
}

/**
 * The proxy's own answer as the last hop: OPTIONS 200 with `Allow` and no content; TRACE 405 with
 * `Allow` (the request is not reflected: it would echo credentials and cookies back). An unread
 * body is discarded as a refusal's is. Returns the status sent, or 0.
 */
export function answerLastHop(method: string, body: IncomingMessage | null, res: ResponseView, closeConnection: boolean, lingerMs: number): number {
  const status = method === 'OPTIONS' ? 200 : 405;
  return answerOnResponse(body, res, status, ['Allow', ALLOW], '', closeConnection, lingerMs);
}
