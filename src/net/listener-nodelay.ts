import type { Server } from 'node:net';

/** node:net's listening handle, as far as this module uses it (`setNoDelay` answers a libuv error code). */
interface ListeningHandle {
  readonly setNoDelay?: (enable: boolean) => number;
}

/** A server as node:net keeps it: `noDelay` is read for every connection it accepts. */
type ServerState = Server & { noDelay?: boolean; _handle?: ListeningHandle | null };

/**
 * TCP_NODELAY set on a server's listening socket, for every connection it accepts to inherit,
 * instead of node:net's setsockopt on each accepted socket (what a server's `noDelay` option does).
 * Linux copies the option from the listening socket to each connection accepted from it (checked
 * with getsockopt on the proxy's accepted sockets in test/integration/net/listener-nodelay.test.ts);
 * elsewhere the server keeps its call per socket. One system call fewer per tunnel:
 * bench/paired.mjs --mode conc, CPU per new tunnel: 0.961x to 0.991x in five pairings on Node 24
 * (median 0.966x), 0.980x and 1.003x on Node 20.
 *
 * Call before the server listens, on a server made with `noDelay`. Each time it starts listening
 * (a new listening socket each time), before it accepts anything ('listening' is emitted first),
 * the listening socket is given the option and the call per socket is turned off; where the handle
 * lacks the call or refuses it, the call per socket stays on for that listening socket. Nothing
 * changes on another platform or for a server without `noDelay`. True when it will apply.
 */
export function inheritNoDelay(server: Server, platform: NodeJS.Platform = process.platform): boolean {
  const state = server as ServerState;
  if (platform !== 'linux' || state.noDelay !== true) return false;
  server.on('listening', () => {
    state.noDelay = !listenerTookNoDelay(state._handle);
  });
  return true;
}

function listenerTookNoDelay(handle: ListeningHandle | null | undefined): boolean {
  if (handle === undefined || handle === null || typeof handle.setNoDelay !== 'function') return false;
  return handle.setNoDelay(true) === 0;
}
