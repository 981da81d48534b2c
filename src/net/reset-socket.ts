import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * The TCP socket under each TLS socket the proxy made on one of its own (tlsOver): an intercepted
 * session's CONNECT socket, the socket dialled under a `wss://` or `https://` destination. Weak:
 * an entry goes with its TLS socket.
 */
const underTls = new WeakMap<TLSSocket, Socket>();

/** `tls` runs on `socket`, a socket the proxy holds: resetSocket(tls) resets that one. */
export function tlsOver(tls: TLSSocket, socket: Socket): void {
  underTls.set(tls, socket);
}

/**
 * Close a socket with a TCP reset (RST), not a FIN: for a connection cut short, whose peer must not
 * take what it got for the whole stream. A TLS socket cannot be reset itself (resetAndDestroy
 * throws ERR_INVALID_HANDLE_TYPE on any handle but a TCP one, and a TLS socket's is its TLSWrap):
 * the socket it runs on, when the proxy made it on one (tlsOver), is reset, which its peer reads
 * as a reset as from a plain TCP socket. A TLS socket the proxy knows nothing under is destroyed,
 * which ends its session with a FIN and no close_notify, a truncation a TLS peer that checks for
 * one (OpenSSL 3, curl) reports. A socket whose writing has ended (shutDown) is destroyed: its peer
 * has the whole stream. Does nothing to a socket already destroyed.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket instanceof TLSSocket) {
    // The TCP socket first: destroyed first, the TLS socket would close it with a FIN.
    const under = underTls.get(socket);
    if (under !== undefined) resetSocket(under);
    socket.destroy();
  } else if (shutDown(socket)) socket.destroy();
  else socket.resetAndDestroy();
}

/**
 * The socket has ended its writing and every byte of it is with the kernel: its FIN is sent or on
 * its way, so its peer already has the whole stream and a reset could cut nothing short. libuv
 * refuses to reset such a socket (uv_tcp_close_reset: EINVAL once a shutdown was requested), and
 * Node then drops the handle without closing it: the descriptor leaked and 'close' never came, so
 * a tunnel whose client reset right after its CONNECT stayed counted open (a drain waited its
 * deadline for it) and held a descriptor for the life of the process. Such a socket is destroyed.
 * While written bytes are still queued (writableLength), the shutdown is not requested yet and a
 * reset is still possible, and right: the peer would not get them.
 */
function shutDown(socket: Socket): boolean {
  return socket.writableEnded && socket.writableLength === 0;
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
