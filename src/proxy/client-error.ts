import type { Duplex } from 'node:stream';
import { Socket } from 'node:net';
import type { ProxyObserver } from '../contract/observer.js';
import type { ErrorCode } from '../errors/codes.js';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { refuseOnSocket } from './deny-response.js';
import { reportRefused } from './exchange-events.js';
import type { Interception } from './interception.js';
import { errorRefusal } from './refusal.js';

/**
 * Requests Node's parser rejects before any handler sees them: oversized headers → 431,
 * headers not complete in time → 408, anything malformed → 400, each written as a complete
 * response (then drain and close); a malformed body of the request in flight is answered 400 by
 * that request (body-fault.ts) while it can be. Resets and sockets mid-response are just destroyed.
 * Inside an intercepted session (`interception`) the `refused` line names the session's CONNECT
 * target, as a request refused there by the proxy's own checks does.
 */
export function createClientErrorHandler(
  registry: ConnectionRegistry,
  observer: ProxyObserver | null = null,
  interception: Interception | null = null,
): (error: Error, socket: Duplex) => void {
  return (error, socket) => {
    if (!(socket instanceof Socket)) {
      socket.destroy();
      return;
    }
    const conn = registry.get(socket);
    if (conn.refused) return;
    // Bytes after a `Connection: close` request: the connection ends after that request's
    // response anyway, and answering or destroying now would cut that response off.
    if (errorCode(error) === 'HPE_CLOSED_CONNECTION') return;
    const code = clientErrorCode(error);
    // A malformed body of the one request in flight, whose answer has not begun: that request
    // answers 400 itself (body-fault.ts), its destination exchange abandoned. A body cut short by
    // the client's end (a reset reads as one: HPE_INVALID_EOF_STATE) is a client gone, not a fault.
    const fault = conn.bodyFault;
    if (code === 'KZP_ERR_BAD_REQUEST' && errorCode(error) !== 'HPE_INVALID_EOF_STATE' && conn.busy === 1 && fault !== null && socket.writable) {
      conn.bodyFault = null;
      if (fault(new KaizenProxyError(code, 'malformed chunked request body'))) {
        conn.refused = true;
        return;
      }
    }
    // Writing our own response over one in progress (pipelining, a bad chunk once an answer has
    // begun) would corrupt it: those connections are closed instead.
    if (code === null || conn.busy > 0 || !socket.writable) {
      socket.destroy();
      return;
    }
    conn.refused = true;
    const refusal = errorRefusal(code);
    const session = interception?.pinned(socket);
    if (session === undefined) conn.log.info({ status: refusal.status, code }, 'refused');
    else {
      // The client spoke in the session: it trusted the certificate (intercept-tunnel.ts).
      session.heard = true;
      conn.log.info({ status: refusal.status, code, target: session.target.authority }, 'refused');
    }
    refuseOnSocket(socket, refusal);
    reportRefused(observer, code);
  };
}

function errorCode(error: Error): string {
  return 'code' in error && typeof error.code === 'string' ? error.code : '';
}

function clientErrorCode(error: Error): ErrorCode | null {
  const code = errorCode(error);
  if (code === 'HPE_HEADER_OVERFLOW') return 'KZP_ERR_HEADERS_TOO_LARGE';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'KZP_ERR_HEADER_TIMEOUT';
  if (code.startsWith('HPE_')) return 'KZP_ERR_BAD_REQUEST';
  return null;
}

/** An error as node:http's parser hands it to 'clientError' (`code` an HPE_ or ERR_HTTP_ one), for the fast lane's own. */
export function parserError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
