import type { IncomingMessage } from 'node:http';
import type { KaizenProxyError } from '../errors/kaizen-error.js';

/**
 * Answers a request whose body node:http's parser found malformed (a chunk size that is not hex,
 * chunk data without its CRLF) with 400 itself: true when it did, false when its answer has begun
 * (the connection is then cut, as before). Squid and Envoy answer such a body 400; before, the
 * proxy reset the connection with no answer, and the client could not tell its own bad framing
 * from a network failure.
 */
export type BodyFaultHandler = (error: KaizenProxyError) => boolean;

/** Where a connection keeps the handler of the request whose body is being read (ConnectionContext.bodyFault). */
export interface BodyFaultHolder {
  bodyFault: BodyFaultHandler | null;
}

/**
 * `handler` answers a malformed rest of `body` from now on (the request's decision first, then
 * its forwarding, each registering its own): until the body is complete, so that a malformed head
 * after it is never blamed on it. `complete` is set as the parser finishes the body, in the very
 * call that may find the next head malformed, where 'end' comes a turn later.
 */
export function watchBody(holder: BodyFaultHolder, body: IncomingMessage, handler: BodyFaultHandler): void {
  if (body.complete) return;
  holder.bodyFault = (error) => !body.complete && handler(error);
  const current = holder.bodyFault;
  body.once('close', () => {
    if (holder.bodyFault === current) holder.bodyFault = null;
  });
}
