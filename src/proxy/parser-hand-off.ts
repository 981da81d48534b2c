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

/**
 * Gives `socket` to node:http (`toParser`) with `bytes` read before it (null: none) in front of
 * what follows. The socket flows before the bytes go back: node:http parses them a tick later,
 * and stops reading on its own when a request's body fills up (the destination slow, the decision
 * not made yet). Resumed after them instead, the resume's 'resume' event came a tick after that
 * parse, and Node 20's handler for a consumed socket started reading again (Node 24 did not), its
 * later pauses changing nothing (the socket was already paused): a client's whole upload was read
 * into memory while its decision waited (256 MiB in a second, a test here). `toParser` attaches
 * node:http's reader in this turn: the flowing socket emits nothing before the next tick.
 */
export function handBack(socket: Socket, bytes: Buffer | null, toParser: ParserHandOff): void {
  socket.resume();
  if (bytes !== null && bytes.length > 0) socket.unshift(bytes);
  toParser(socket);
}
