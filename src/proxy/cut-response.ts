import type { Socket } from 'node:net';
import { resetSocket } from '../net/reset-socket.js';
import type { ResponseView } from './exchange-views.js';

/**
 * A response whose head went out, cut short (its destination reset or failed mid-body, or it was in
 * flight at the drain's deadline): the client's connection is reset (reset-socket.ts), the TCP
 * connection under an intercepted session's TLS included, then the response destroyed. A response
 * without a length (no Content-Length, not chunked: what an HTTP/1.0 client gets) ends where its
 * connection ends, so a FIN would hand the client part of the body as all of it; one with a length
 * ends the same way, as a direct connection to a destination that reset would.
 */
export function cutResponse(res: ResponseView, clientSocket: Socket): void {
  resetSocket(clientSocket);
  res.destroy();
}
