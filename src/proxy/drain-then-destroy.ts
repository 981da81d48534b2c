import type { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';

/**
 * After the proxy answers on its own, the client may still be sending (a body, a TLS ClientHello).
 * Closing at once with unread bytes makes the kernel send a reset, and the client reports a
 * network error instead of our reason. So: read and discard a bounded amount, for a bounded time,
 * then destroy.
 */
export const DRAIN_MAX_BYTES = 64 * 1024;
export const DRAIN_TIMEOUT_MS = 2_000;

/** Write the last bytes, half-close, drain the client's side within bounds, then destroy. */
export function endAndDrain(socket: Socket, last: string): void {
  if (socket.destroyed) return;
  let drained = 0;
  const destroy = (): void => {
    socket.destroy();
  };
  const timer = setTimeout(destroy, DRAIN_TIMEOUT_MS);
  timer.unref();
  socket.setTimeout(0);
  socket.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_MAX_BYTES) socket.destroy();
  });
  socket.once('end', destroy);
  socket.once('close', () => {
    clearTimeout(timer);
  });
  socket.end(last);
  socket.resume();
}

/**
 * Bounds of a lingering close (nginx's `lingering_close`, and what Squid and Envoy do): once a
 * refusal says `Connection: close` while the request body is still arriving, the proxy ends its
 * side after the answer and keeps reading and discarding the body, since a client that sends the
 * whole body before reading (python's urllib and http.client do) would otherwise meet a reset
 * mid-send and report a network error, never our 403 or 502. The bytes bound stops a blocked
 * upload from costing bandwidth without end, and is generous next to the 10 MiB uploads clients
 * must get their answer for; the time bound stops a client that never stops sending from holding
 * the connection (10 s takes a 10 MiB body at about 8.4 Mbit/s). It also bounds the keep-alive
 * discard of a small declared body. The time bound is the server's (limits.lingerMs, tests shorten
 * it), LINGER_MAX_MS by default.
 */
export const LINGER_MAX_BYTES = 32 * 1024 * 1024;
export const LINGER_MAX_MS = 10_000;

/** Declared bodies up to this size are discarded on a connection that stays open; larger ones close it. */
export const KEEP_ALIVE_DISCARD_MAX_BYTES = DRAIN_MAX_BYTES;

/**
 * Whether a refused request's unread body is small enough to discard while keeping the connection:
 * only a declared Content-Length, since a chunked body's size is unknown until it ends.
 */
export function discardKeepsConnection(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return false;
  const length = req.headers['content-length'];
  return length !== undefined && /^\d{1,10}$/.test(length) && Number(length) <= KEEP_ALIVE_DISCARD_MAX_BYTES;
}

/**
 * Discard the rest of a request body the proxy will not forward. On a connection that stays open
 * it is read to its end, then the next request is served. When node:http closes the connection
 * after the answer (`Connection: close`, ours or the client's, or HTTP/1.0), it does so with
 * socket.destroySoon(): destroyed once the answer is written, the body's bytes still unread, so
 * the kernel resets the connection under the client. While the body is unread, that call only
 * ends our side (FIN after the answer): the close lingers, the body is read on, and the socket is
 * destroyed once the body is complete (node:http's own destroySoon, after the last write), at the
 * client's FIN, or at LINGER_MAX_BYTES or after `lingerMs`. Also the rest of a body a destination
 * answered without reading (upstream-dispatch.ts), after its answer.
 */
export function discardRequestBody(req: IncomingMessage, lingerMs: number): void {
  if (req.complete) {
    // All of it arrived, but a pump that paused it left the rest buffered, with node:http no
    // longer reading the connection: flowing, it is dropped and the next request is read.
    req.resume();
    return;
  }
  const socket = req.socket;
  let drained = 0;
  const cut = (): void => {
    socket.destroy();
  };
  const timer = setTimeout(cut, lingerMs);
  timer.unref();
  socket.destroySoon = endOnly;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_MAX_BYTES) cut();
  });
  req.once('end', () => {
    clearTimeout(timer);
    // Back to Socket.prototype.destroySoon for the rest of the connection's life.
    Reflect.deleteProperty(socket, 'destroySoon');
    // Our side ended while the body was unread: with the body read, the close may complete.
    if (socket.writableEnded) socket.destroySoon();
  });
  socket.once('close', () => {
    clearTimeout(timer);
  });
  // A body the destination's pump paused (an upload cut short by a failed destination) reads on.
  req.resume();
}

/** socket.destroySoon while a refused body is still arriving: end our side, keep reading. */
function endOnly(this: Socket): void {
  this.end();
}
