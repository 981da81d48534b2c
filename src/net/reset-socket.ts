import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * Close a socket with a TCP reset (RST), not a FIN: for a connection cut short, whose peer must not
 * take what it got for the whole stream. A TLS socket cannot be reset itself (resetAndDestroy
 * throws ERR_INVALID_HANDLE_TYPE on any handle but a TCP one, and a TLS socket's is its TLSWrap),
 * and the TCP socket under it is not ours to reach: it is destroyed instead, which ends its session with a FIN and no close_notify, a
 * truncation a TLS peer that checks for one (OpenSSL 3, curl) reports. Does nothing to a socket
 * already destroyed.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket instanceof TLSSocket) socket.destroy();
  else socket.resetAndDestroy();
}

/**
 * Close both sockets of a tunnel that ends before its splice (either side gone first): with a
 * reset where either was closed by an error (its peer's reset), as a splice carries one (see
 * src/proxy/socket-pipe.ts), else destroyed.
 */
export function closePair(first: Socket, second: Socket | null): void {
  if (first.errored !== null || (second !== null && second.errored !== null)) {
    resetSocket(first);
    if (second !== null) resetSocket(second);
    return;
  }
  first.destroy();
  second?.destroy();
}
