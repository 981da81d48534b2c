import type { Socket } from 'node:net';
import type { Interceptor } from '../contract/interceptor.js';
import type { Target } from '../contract/target.js';
import type { ProxyContext } from './proxy-context.js';

/** A decrypted (or plaintext) connection inside an intercepted CONNECT: every request on it goes to `target`. */
export interface PinnedTunnel {
  readonly target: Target;
  /** The CONNECT's context: its agent (gateway mode) names every request inside. */
  readonly proxy: ProxyContext;
  /** https for terminated TLS; http when the client spoke plain HTTP inside the tunnel. */
  readonly scheme: 'https' | 'http';
  /**
   * Whether the client said anything in the session: a request, or one the parser refused. A TLS
   * session that ends without it is taken for a client that refused the certificate after its
   * handshake (a late check: TLS 1.2 stacks, certificate pinning).
   */
  heard: boolean;
}

/**
 * The transport's side of interception: which sockets are pinned to which CONNECT target, the
 * hand-over to the HTTP server, and the once-per-host warnings. Built by createProxyServer when
 * an Interceptor is given.
 */
export interface Interception {
  readonly interceptor: Interceptor;
  /** How long a client has to finish its TLS handshake (limits.header_timeout). */
  readonly handshakeTimeoutMs: number;
  pinned(socket: Socket): PinnedTunnel | undefined;
  /** Hand a socket to the HTTP server as a new connection whose requests all go to the tunnel's target. */
  feed(socket: Socket, tunnel: PinnedTunnel): void;
  /** True the first time a host is named for this kind of warning (log once per host, not once per connection). */
  firstWarning(kind: InterceptWarning, host: string): boolean;
}

/** What a once-per-host warning is about: a client that does not trust the CA, or one that offers only h2. */
export type InterceptWarning = 'ca_trust' | 'h2_only';

/** Hosts remembered for once-per-host warnings; past it the memory starts over (a warning may repeat). */
const MAX_WARNED_HOSTS = 10_000;

export function createInterception(interceptor: Interceptor, handshakeTimeoutMs: number, emitConnection: (socket: Socket) => void): Interception {
  const pins = new WeakMap<Socket, PinnedTunnel>();
  // Keyed by kind and host: an h2-only client does not use up the host's trust warning.
  const warned = new Set<string>();
  return {
    interceptor,
    handshakeTimeoutMs,
    pinned: (socket) => pins.get(socket),
    feed(socket, tunnel) {
      pins.set(socket, tunnel);
      emitConnection(socket);
    },
    firstWarning(kind, host) {
      const key = `${kind} ${host}`;
      if (warned.has(key)) return false;
      if (warned.size >= MAX_WARNED_HOSTS) warned.clear();
      warned.add(key);
      return true;
    },
  };
}
