import type { Server } from 'node:http';
import type { ProxyObserver } from '../contract/observer.js';
import type { Socket } from 'node:net';
import { descriptorExhaustion } from '../net/descriptor-exhaustion.js';
import { giveSlots } from '../net/socket-slots.js';
import type { Logger } from '../observe/logger.js';
import type { ConnectionRegistry } from './connection-registry.js';
import { refuseOnSocket } from './deny-response.js';
import { reportRefused } from './exchange-events.js';
import type { EarlyRefuse } from './first-byte-refusal.js';
import { createLimitRefusalLog, type LimitRefusalLog } from './limit-refusal-log.js';
import { errorRefusal } from './refusal.js';

type ConnectionListener = (this: Server, socket: Socket) => void;

/**
 * Admission at the socket level, before any byte is parsed: past `maxConnections` the new client
 * reads a 503 with Retry-After (instead of the silent drop of `server.maxConnections`), and a
 * client address already holding `maxConnectionsPerClient` reads a 429, while admitted
 * connections keep working. The http.Server's own connection listener is moved behind
 * the gate so its parser, header timeout and connection tracking stay exactly as Node sets them.
 */
export interface ConnectionLimits {
  readonly maxConnections: number;
  /** Connections one client address may hold at once; 0 for no such limit. */
  readonly maxConnectionsPerClient: number;
}

/** Takes an admitted connection first (the fast lane), handing it to `toNode` (node:http's listener) when it will not serve it. */
export type ConnectionFront = (socket: Socket, toNode: (socket: Socket) => void) => void;

export interface GateOptions {
  readonly observer?: ProxyObserver | null;
  readonly front?: ConnectionFront | null;
  /** Read every client's address, whatever the registry's readClientAddresses says (the transparent listener). */
  readonly readClient?: boolean;
  /** How a refused client reads its refusal; refuseOnSocket (HTTP) by default. */
  readonly refuse?: EarlyRefuse;
  /** Where the refused lines go, rate-limited; shared by the listeners of one proxy. A gate's own by default. */
  readonly refusalLog?: LimitRefusalLog;
}

export function installConnectionGate(server: Server, registry: ConnectionRegistry, limits: ConnectionLimits, logger: Logger, options: GateOptions = {}): void {
  const observer = options.observer ?? null;
  const front = options.front ?? null;
  const alwaysReadClient = options.readClient === true;
  const refuse = options.refuse ?? refuseOnSocket;
  const refusalLog = options.refusalLog ?? createLimitRefusalLog(logger, { observer });
  const listeners = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  const overflow = errorRefusal('KZP_ERR_LIMIT_CONNECTIONS');
  const clientOverflow = errorRefusal('KZP_ERR_LIMIT_CLIENT_CONNECTIONS');
  const { maxConnections, maxConnectionsPerClient } = limits;
  const toNode = (socket: Socket): void => {
    for (const listener of listeners) listener.call(server, socket);
  };
  // A listener that could not accept (libuv closes what it can with its spare descriptor and
  // reports the rest): logged, rate-limited, never an unhandled 'error' that ends the process.
  server.on('error', (error: unknown) => {
    if (!isAcceptError(error)) return;
    const exhausted = descriptorExhaustion(error);
    if (exhausted !== null) refusalLog.descriptors(exhausted, 'accept');
    else logger.warn({ err: typeof error.code === 'string' ? error.code : 'unknown', syscall: 'accept' }, 'accept failed');
  });
  server.on('connection', (socket: Socket) => {
    // Before the per-client check reads the address (Node then stores it on the socket): see socket-slots.ts.
    giveSlots(socket);
    socket.on('error', ignoreSocketError);
    // A decrypted (intercepted) socket belongs to a client already admitted: never refused here.
    const decrypted = registry.isDecrypted(socket);
    if (!decrypted) {
      if (registry.size >= maxConnections) {
        // The client is named where addresses are read anyway (see ConnectionRegistry.readClientAddresses).
        refusalLog.connections(overflow, maxConnections, alwaysReadClient || registry.readClientAddresses ? (socket.remoteAddress ?? '') : null);
        refuse(socket, overflow);
        reportRefused(observer, overflow.code);
        return;
      }
      // One client holding its share gets 429; the others keep being admitted.
      if (maxConnectionsPerClient > 0 && registry.countFor(socket.remoteAddress ?? '') >= maxConnectionsPerClient) {
        refusalLog.clientConnections(clientOverflow, maxConnectionsPerClient, socket.remoteAddress ?? '');
        refuse(socket, clientOverflow);
        reportRefused(observer, clientOverflow.code);
        return;
      }
    }
    registry.admit(socket, decrypted, alwaysReadClient || registry.readClientAddresses);
    observer?.accepted?.();
    // Decrypted sockets carry requests pinned to their CONNECT target: node:http's, always.
    if (front !== null && !decrypted) front(socket, toNode);
    else toNode(socket);
  });
}

function isAcceptError(error: unknown): error is { readonly syscall: 'accept'; readonly code?: unknown } {
  return typeof error === 'object' && error !== null && 'syscall' in error && error.syscall === 'accept';
}

function ignoreSocketError(): void {
  // Resets from clients are routine; each exchange handles its own errors.
}
