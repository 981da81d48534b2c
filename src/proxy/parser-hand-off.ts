import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Gives a connection to node:http's parser, as if it had just been accepted (its parser, timeouts, request events). */
export type ParserHandOff = (socket: Socket) => void;

type ConnectionListener = (this: Server, socket: Socket) => void;

/**
 * node:http's own connection listeners of `server`, as one hand-off. Taken right after the server
 * is made, before the connection gate (connection-limits.ts) or the transparent sniffer puts itself
 * in front of them: a connection handed back through it is not admitted, counted or sniffed again.
 */
export function parserHandOff(server: Server): ParserHandOff {
  const listeners = server.listeners('connection') as ConnectionListener[];
  return (socket) => {
    for (const listener of listeners) listener.call(server, socket);
  };
}
