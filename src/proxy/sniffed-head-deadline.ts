import type { Socket } from 'node:net';
import { parserError } from './client-error.js';
import type { ConnectionContext } from './connection-registry.js';
import { headArrived } from './handed-head.js';
import type { Lifecycle } from './lifecycle.js';

const HEAD_END = '\r\n\r\n';

/**
 * The head of a redirected HTTP connection handed to node:http unfinished, timed from the accept.
 * The first-flight sniff (transparent-sniff.ts) reads up to the request line's `HTTP/` within
 * header_timeout, and node:http times a head from when it gets the connection: a slow request line
 * and slow headers each took up to header_timeout. As the fast lane times a head it hands over
 * (lane-connection.ts), the head is answered 408 at `acceptedAt` + `timeoutMs` unless node:http has
 * made it a request by then (headArrived), or has let go of the connection (an upgrade, a CONNECT).
 */
export function timeSniffedHead(
  conn: ConnectionContext,
  socket: Socket,
  lifecycle: Lifecycle,
  sniffed: { readonly bytes: Buffer; readonly acceptedAt: number; readonly timeoutMs: number },
  clientError: (error: Error, socket: Socket) => void,
): void {
  // header_timeout 0s: no deadline; a whole head in the first flight is node:http's at once.
  if (sniffed.timeoutMs <= 0 || sniffed.bytes.includes(HEAD_END)) return;
  const arrivals = conn.headsArrived;
  const expire = (): void => {
    socket.off('close', clear);
    const parser = (socket as Socket & { parser?: unknown }).parser;
    if (!conn.headHandedOver || conn.headsArrived !== arrivals || socket.destroyed || parser === null || parser === undefined) return;
    headArrived(conn, lifecycle);
    clientError(parserError('ERR_HTTP_REQUEST_TIMEOUT', 'request header timeout'), socket);
  };
  const timer = setTimeout(expire, Math.max(0, sniffed.acceptedAt + sniffed.timeoutMs - performance.now()));
  const clear = (): void => {
    clearTimeout(timer);
  };
  socket.once('close', clear);
}
