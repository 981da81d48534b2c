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
 * Discard the rest of a request body the proxy will not forward, within bounds, so the
 * keep-alive connection stays usable; past the bounds the connection is destroyed.
 */
export function discardRequestBody(req: IncomingMessage): void {
  if (req.complete) return;
  let drained = 0;
  const timer = setTimeout(() => req.socket.destroy(), DRAIN_TIMEOUT_MS);
  timer.unref();
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > DRAIN_MAX_BYTES) req.socket.destroy();
  });
  req.once('close', () => {
    clearTimeout(timer);
  });
}
