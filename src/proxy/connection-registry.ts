import type { Socket } from 'node:net';
import type { Logger } from '../observe/logger.js';

/** What the proxy knows about one admitted client connection. */
export interface ConnectionContext {
  readonly id: number;
  /** Child of the root logger carrying `conn: id`, made on first use (most connections never need one). */
  readonly log: Logger;
  /**
   * The root logger, for the per-action lines, which carry `conn` as a field: a pino child per
   * connection cost about 25 µs of CPU per new tunnel (bench/profile.mjs connrate, 4 runs each).
   */
  readonly lineLogger: Logger;
  /** The client's address (what per-client limits count by, without a gateway identity); '' when unknown. */
  readonly client: string;
  /** Requests on this connection whose response is not finished (pipelining keeps several). */
  busy: number;
  /** The proxy already answered this connection on its own (a client error); ignore repeats. */
  refused: boolean;
}

/**
 * A class, so every context shares one shape and the lazy `log` getter lives on the prototype
 * (an object literal with a getter defines it anew on every connection).
 */
class AdmittedConnection implements ConnectionContext {
  readonly id: number;
  readonly lineLogger: Logger;
  readonly client: string;
  busy = 0;
  refused = false;
  #child: Logger | null = null;

  constructor(id: number, root: Logger, client: string) {
    this.id = id;
    this.lineLogger = root;
    this.client = client;
  }

  get log(): Logger {
    this.#child ??= this.lineLogger.child({ conn: this.id });
    return this.#child;
  }
}

/** Every admitted client socket, for the connection limit, lookups and graceful close. */
export class ConnectionRegistry {
  readonly #logger: Logger;
  readonly #sockets = new Map<Socket, ConnectionContext>();
  /** TLS sockets decrypted from an admitted tunnel: the same client, so never counted again. */
  readonly #decrypted = new WeakSet<Socket>();
  #counted = 0;
  /** Counted connections per client address (limits.max_connections_per_client). */
  readonly #perClient = new Map<string, number>();
  #nextId = 0;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Client connections held (what max_connections limits): decrypted sockets are not counted. */
  get size(): number {
    return this.#counted;
  }

  /** Counted connections from one client address now. */
  countFor(client: string): number {
    return this.#perClient.get(client) ?? 0;
  }

  /** An intercepted tunnel's decrypted socket, about to join the server as a connection of its own. */
  markDecrypted(socket: Socket): void {
    this.#decrypted.add(socket);
  }

  isDecrypted(socket: Socket): boolean {
    return this.#decrypted.has(socket);
  }

  /** `decrypted`: what isDecrypted(socket) says, when the caller has asked already. */
  admit(socket: Socket, decrypted = this.#decrypted.has(socket)): ConnectionContext {
    const context = new AdmittedConnection(++this.#nextId, this.#logger, socket.remoteAddress ?? '');
    const counted = !decrypted;
    this.#sockets.set(socket, context);
    if (counted) {
      this.#counted++;
      this.#perClient.set(context.client, (this.#perClient.get(context.client) ?? 0) + 1);
    }
    socket.on('close', () => {
      if (!this.#sockets.delete(socket) || !counted) return;
      this.#counted--;
      const left = (this.#perClient.get(context.client) ?? 1) - 1;
      if (left > 0) this.#perClient.set(context.client, left);
      else this.#perClient.delete(context.client);
    });
    return context;
  }

  /** The context of an admitted socket; sockets that reach handlers are always admitted. */
  get(socket: Socket): ConnectionContext {
    const context = this.#sockets.get(socket);
    if (context !== undefined) return context;
    // A socket the gate did not see (should not happen): track it rather than fail the request.
    return this.admit(socket);
  }

  destroyAll(): void {
    for (const socket of this.#sockets.keys()) socket.destroy();
  }
}
