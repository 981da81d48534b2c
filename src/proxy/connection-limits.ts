import type { Server } from 'node:http';
import type { ProxyObserver } from '../contract/observer.js';
import type { Socket } from 'node:net';
import type { Logger } from '../observe/logger.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { refuseOnSocket } from './deny-response.js';
import { reportRefused } from './exchange-events.js';
import { errorRefusal } from './refusal.js';

type ConnectionListener = (this: Server, socket: Socket) => void;

/**
 * Admission at the socket level, before any byte is parsed: past `maxConnections` the new client
 * reads a 503 with Retry-After (instead of the silent drop of `server.maxConnections`), while
 * admitted connections keep working. The http.Server's own connection listener is moved behind
 * the gate so its parser, header timeout and connection tracking stay exactly as Node sets them.
 */
export function installConnectionGate(
  server: Server,
  registry: ConnectionRegistry,
  maxConnections: number,
  logger: Logger,
  observer: ProxyObserver | null = null,
): void {
  const listeners = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  const overflow = errorRefusal('KZP_ERR_LIMIT_CONNECTIONS');
  server.on('connection', (socket: Socket) => {
    socket.on('error', ignoreSocketError);
    // A decrypted (intercepted) socket belongs to a client already admitted: never refused here.
    if (registry.size >= maxConnections && !registry.isDecrypted(socket)) {
      logger.warn({ status: overflow.status, code: overflow.code, max_connections: maxConnections }, 'refused');
      refuseOnSocket(socket, overflow);
      reportRefused(observer, overflow.code);
      return;
    }
    registry.admit(socket);
    for (const listener of listeners) listener.call(server, socket);
  });
}

function ignoreSocketError(): void {
  // Resets from clients are routine; each exchange handles its own errors.
}
