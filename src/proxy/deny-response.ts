import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { discardKeepsConnection, discardRequestBody, endAndDrain } from './drain-then-destroy.js';
import type { ResponseView } from './exchange-views.js';
import { serializeRefusal, type Refusal } from './refusal.js';

/**
 * Deliberate denials: the client always reads a complete response with our reason, never a bare
 * reset. On a raw socket (CONNECT, client errors, limits) the response closes the connection; on
 * a plain-HTTP exchange the connection stays alive once a small unread body is discarded, and a
 * larger one is read on after the answer until it has arrived, within bounds (lingering close).
 */
export function refuseOnSocket(socket: Socket, refusal: Refusal): void {
  endAndDrain(socket, serializeRefusal(refusal));
}

/**
 * Returns the status actually sent, or 0 when the response could no longer be written.
 * `closeConnection` (a closing proxy) ends the keep-alive connection after this response. `body`
 * is the request's unread body, if it may have one (fast-lane requests never do; nor does one
 * without Content-Length or Transfer-Encoding, RFC 9112 §6.3): a small declared
 * one is discarded and the connection kept; any other closes the connection, lingering until the
 * body has arrived, within bounds (drain-then-destroy.ts; `lingerMs` the time bound), so the
 * client reads this answer.
 */
export function refuseOnResponse(body: IncomingMessage | null, res: ResponseView, refusal: Refusal, closeConnection: boolean, lingerMs: number): number {
  const headers = refusal.headers.slice();
  headers.push('Content-Type', 'application/json');
  return answerOnResponse(body, res, refusal.status, headers, refusal.body, closeConnection, lingerMs);
}

/**
 * Any answer the proxy gives on its own to a plain-HTTP request (a refusal, the last hop of a
 * Max-Forwards count), `headers` without Content-Length or Connection, with refuseOnResponse's
 * handling of the connection and of an unread body. Returns the status sent, or 0.
 */
export function answerOnResponse(
  body: IncomingMessage | null,
  res: ResponseView,
  status: number,
  headers: string[],
  content: string,
  closeConnection: boolean,
  lingerMs: number,
): number {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return 0;
  }
  // Refused inside node:http's 'request', a request without a body is not `complete` yet either:
  // only one with Content-Length or Transfer-Encoding has a body that may still be arriving.
  const unread = body !== null && !body.complete && (body.headers['content-length'] !== undefined || body.headers['transfer-encoding'] !== undefined);
  headers.push('Content-Length', String(Buffer.byteLength(content)));
  if (closeConnection || (unread && !discardKeepsConnection(body))) headers.push('Connection', 'close');
  res.writeHead(status, headers);
  res.end(content);
  if (unread) discardRequestBody(body, lingerMs);
  return status;
}
