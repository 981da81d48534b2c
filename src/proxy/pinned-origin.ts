import type { Socket } from 'node:net';
import type { OriginConnection } from './origin-connection.js';

/**
 * Authentication schemes that authenticate a TCP connection rather than a request (RFC 4559
 * Negotiate, Microsoft's NTLM, and the Kerberos token some servers still name): after the
 * handshake, the destination treats every later request on that connection as the user who
 * completed it, whoever sends it.
 */
const CONNECTION_SCHEMES: ReadonlySet<string> = new Set(['ntlm', 'negotiate', 'kerberos']);

/**
 * Whether any `name` field of a head (a raw name/value list) names a connection-bound scheme: an
 * `Authorization: NTLM ...` or `Negotiate ...`, or a `WWW-Authenticate` challenge list offering one
 * (`Basic realm="x", NTLM`). A parameter that merely reads like one (`realm="a, NTLM"`) only pins a
 * connection that need not have been: safe in that direction.
 */
export function bindsConnection(rawHeaders: readonly string[], name: 'authorization' | 'www-authenticate'): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const field = rawHeaders[i];
    // The length first: a request's or answer's every other field is passed over without a copy.
    if (field === undefined || field.length !== name.length || field.toLowerCase() !== name) continue;
    for (const item of (rawHeaders[i + 1] ?? '').split(',')) {
      const scheme = /^[ \t]*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:[ \t]|$)/.exec(item)?.[1];
      if (scheme !== undefined && CONNECTION_SCHEMES.has(scheme.toLowerCase())) return true;
    }
  }
  return false;
}

/**
 * A destination connection that took part in connection-bound authentication, kept for the one
 * client connection (and, in gateway mode, the one agent) that authenticated it, as Squid's
 * `connection-auth` pins it: never handed back to the shared pool, where another client or agent
 * would be served as the authenticated user. It serves that client's later requests to the same
 * destination (same scheme, authority and checked addresses) while it is idle, and closes with the
 * client connection.
 */
export class PinnedOrigin {
  /** The destination pool's key and the agent (gateway mode) the connection is kept for. */
  readonly key: string;
  readonly connection: OriginConnection;
  /** Carrying one of the client's requests now: a pipelined request beside it goes to the pool. */
  busy = true;

  constructor(key: string, connection: OriginConnection) {
    this.key = key;
    this.connection = connection;
  }
}

/** Where a client connection keeps its pinned destination connection (ConnectionContext.pinned). */
export interface PinHolder {
  pinned: PinnedOrigin | null;
}

/** The client's idle pinned connection for `key`, taken (busy) for one request; null when there is none to use. */
export function takePinned(holder: PinHolder, key: string): OriginConnection | null {
  const pinned = holder.pinned;
  if (pinned === null || pinned.busy || pinned.key !== key || !pinned.connection.open) return null;
  pinned.busy = true;
  return pinned.connection;
}

/**
 * The destination connection `connection`, authenticated for the client on `client` under `key`,
 * finished an exchange and can take another: kept for that client (the pinned one is replaced
 * when it is another, now closed or for another destination), or closed when the client is gone
 * or already keeps another open one (which was the authenticated one is not known).
 */
export function keepPinned(holder: PinHolder, client: Socket, key: string, connection: OriginConnection): void {
  const pinned = holder.pinned;
  if (pinned !== null && pinned.connection === connection) {
    pinned.busy = false;
    return;
  }
  if (client.destroyed || (pinned !== null && pinned.key === key && pinned.connection.open)) {
    connection.destroy();
    return;
  }
  if (pinned === null) {
    // The first pin on this client connection: its close closes whatever is pinned then.
    client.once('close', () => {
      holder.pinned?.connection.destroy();
      holder.pinned = null;
    });
  } else pinned.connection.destroy();
  const kept = new PinnedOrigin(key, connection);
  kept.busy = false;
  holder.pinned = kept;
}
