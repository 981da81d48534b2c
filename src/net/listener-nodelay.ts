import type { Server } from 'node:net';

/** node:net's listening handle, as far as this module uses it (`setNoDelay` answers a libuv error code). */
interface ListeningHandle {
  readonly setNoDelay?: (enable: boolean) => number;
}

/** A server as node:net keeps it: `noDelay` is read for every connection it accepts. */
type ServerState = Server & { noDelay?: boolean; _handle?: ListeningHandle | null };

/**
 * TCP_NODELAY set once on a listening socket, for every connection it accepts to inherit, instead
 * of node:net's setsockopt on each accepted socket (what a server's `noDelay` option does). Linux
 * copies the option from the listening socket to each connection accepted from it (checked with
 * getsockopt on the proxy's accepted sockets in test/integration/net/listener-nodelay.test.ts);
 * elsewhere the server keeps its call per socket. One system call fewer per tunnel:
 * bench/paired.mjs --mode conc, CPU per new tunnel: 0.961x to 0.991x in five pairings on Node 24
 * (median 0.966x), 0.980x and 1.003x on Node 20.
 *
 * Call once the server listens (there is no handle before). True when the listening socket took
 * the option, and the server no longer sets it per connection; false, changing nothing, on another
 * platform, a server without `noDelay`, or a handle that lacks the call or refused it.
 */
export function noDelayFromListener(server: Server, platform: NodeJS.Platform = process.platform): boolean {
  const state = server as ServerState;
  if (platform !== 'linux' || state.noDelay !== true) return false;
  const handle = state._handle;
  if (handle === undefined || handle === null || typeof handle.setNoDelay !== 'function') return false;
  if (handle.setNoDelay(true) !== 0) return false;
  state.noDelay = false;
  return true;
}
