import type { IncomingMessage } from 'node:http';
import { discardKeepsConnection, discardRequestBody } from './drain-then-destroy.js';

/**
 * A destination's answer that came before the request's body was all sent (a 401 from an auth
 * check, a 413 from a size limit): the forwarding path (upstream-dispatch.ts, straight or through
 * upstream_proxy) treats the rest of the body as the refusals do
 * (deny-response.ts). The body's pump stops with the exchange, often paused where the
 * destination's socket was full; unless read on, a client that sends its whole body before
 * reading (python's http.client, requests) never gets to the answer.
 */

/** The request's body while it is not all sent (the pump ends with its 'end'), or null. */
export function unsentBody(body: IncomingMessage | null): IncomingMessage | null {
  return body !== null && !body.readableEnded ? body : null;
}

/**
 * Whether an answer's head relayed now must say `Connection: close`: a body not all sent whose
 * rest may be too large to discard on a connection that stays open (only a declared one up to
 * 64 KiB is).
 */
export function unsentBodyCloses(body: IncomingMessage | null): boolean {
  const rest = unsentBody(body);
  return rest !== null && !discardKeepsConnection(rest);
}

/**
 * Once the answer is complete (its pump's listeners off): the rest of a body not all sent is read
 * on and discarded, within the lingering close's bounds (discardRequestBody).
 */
export function discardUnsentBody(body: IncomingMessage | null, lingerMs: number): void {
  const rest = unsentBody(body);
  if (rest !== null) discardRequestBody(rest, lingerMs);
}
