import type { Socket } from 'node:net';
import { LinkedSet, type LinkedEntry } from '../net/linked-set.js';
import { resetSocket } from '../net/reset-socket.js';
import { CONNECTION_SLOT, giveSlots } from '../net/socket-slots.js';
import type { Logger } from '../observe/logger.js';
import type { BodyFaultHandler } from './body-fault.js';
import type { PinnedOrigin } from './pinned-origin.js';
import type { RequestPipeline } from './request-pipeline.js';

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
  /**
   * The client's address (what per-client limits and client_rate count by, without a gateway
   * identity); '' when unknown, null when not read (see ConnectionRegistry.readClientAddresses).
   */
  readonly client: string | null;
  /** Requests on this connection whose response is not finished (pipelining keeps several), a declined upgrade's answer being relayed included. */
  busy: number;
  /** The proxy already answered this connection on its own (a client error); ignore repeats. */
  refused: boolean;
  /** node:http's pipelined requests on this connection (request-pipeline.ts), from the first one on. */
  pipeline: RequestPipeline | null;
  /** A head node:http is to parse is awaited (handed-head.ts): handed over by the fast lane, or begun at a drain's start. */
  headHandedOver: boolean;
  /** That head was awaited on a connection that had sent nothing (Lifecycle.headBegun(true)). */
  headSilent: boolean;
  /**
   * How many awaited heads node:http has taken (headArrived): a head the fast lane handed over is
   * timed by the lane only until the first, never the next one awaited on the connection (a drain's).
   */
  headsArrived: number;
  /** node:http's path: an answer said `Connection: close` (closing-response.ts); no later request is relayed. */
  closing: boolean;
  /** A destination connection authenticated for this client connection alone (NTLM, Negotiate; pinned-origin.ts). */
  pinned: PinnedOrigin | null;
  /** Answers a malformed body of the request being read with 400 (body-fault.ts); null when none is. */
  bodyFault: BodyFaultHandler | null;
}

/**
 * A class, so every context shares one shape and the lazy `log` getter lives on the prototype
 * (an object literal with a getter defines it anew on every connection).
 */
class AdmittedConnection implements ConnectionContext {
  readonly id: number;
  readonly lineLogger: Logger;
  readonly client: string | null;
  busy = 0;
  refused = false;
  pipeline: RequestPipeline | null = null;
  headHandedOver = false;
  headSilent = false;
  headsArrived = 0;
  closing = false;
  pinned: PinnedOrigin | null = null;
  bodyFault: BodyFaultHandler | null = null;
  #child: Logger | null = null;

  constructor(id: number, root: Logger, client: string | null) {
    this.id = id;
    this.lineLogger = root;
    this.client = client;
  }

  get log(): Logger {
    this.#child ??= this.lineLogger.child({ conn: this.id });
    return this.#child;
  }
}

/** An admitted socket's context, on the socket itself (a lookup table would be one more churned hash table). */
type Admitted = Socket & { [CONNECTION_SLOT]?: ConnectionContext | null };

/** Every admitted client socket, for the connection limit, lookups and graceful close. */
export class ConnectionRegistry {
  /**
   * Whether a connection's client address is read as it is admitted (a getpeername call). Needed
   * where the proxy listens beyond loopback, for per-client limits and for client_rate; on a
   * loopback-only listener every client is a process on this host, and reading its address cost
   * 4-6% of a new tunnel's CPU (bench/paired.mjs --mode conc, Node 24, 16 rounds). Set before
   * listening; admit can be told otherwise (the transparent listener always reads it).
   */
  readClientAddresses = true;
  readonly #logger: Logger;
  /** Open admitted sockets: a LinkedSet, since every connection joins and leaves it (see linked-set.ts). */
  readonly #sockets = new LinkedSet<Socket>();
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
  admit(socket: Socket, decrypted = this.#decrypted.has(socket), readClient = this.readClientAddresses): ConnectionContext {
    giveSlots(socket);
    const client = readClient ? (socket.remoteAddress ?? '') : null;
    const context = new AdmittedConnection(++this.#nextId, this.#logger, client);
    const counted = !decrypted;
    (socket as Admitted)[CONNECTION_SLOT] = context;
    const entry = this.#sockets.add(socket);
    if (counted) this.#counted++;
    // Counted per address only where it was read (without it there is no per-client limit to keep).
    const perClient = counted ? client : null;
    if (perClient !== null) this.#perClient.set(perClient, (this.#perClient.get(perClient) ?? 0) + 1);
    // A bound method, not a closure per connection (see connect-tunnel.ts).
    socket.on('close', this.#closed.bind(this, entry, counted, perClient));
    return context;
  }

  #closed(entry: LinkedEntry<Socket>, counted: boolean, perClient: string | null): void {
    if (!this.#sockets.delete(entry) || !counted) return;
    this.#counted--;
    if (perClient === null) return;
    const left = (this.#perClient.get(perClient) ?? 1) - 1;
    if (left > 0) this.#perClient.set(perClient, left);
    else this.#perClient.delete(perClient);
  }

  /** The context of an admitted socket; sockets that reach handlers are always admitted. */
  get(socket: Socket): ConnectionContext {
    const context = (socket as Admitted)[CONNECTION_SLOT];
    if (context !== undefined && context !== null) return context;
    // A socket the gate did not see (should not happen): track it rather than fail the request.
    return this.admit(socket);
  }

  /** Every admitted socket still open, with its context (decrypted ones included). */
  forEachOpen(visit: (socket: Socket, context: ConnectionContext) => void): void {
    this.#sockets.forEach((socket) => {
      const context = (socket as Admitted)[CONNECTION_SLOT];
      if (context !== undefined && context !== null) visit(socket, context);
    });
  }

  /**
   * Closes every admitted socket still open (decrypted ones included); returns how many there were.
   * One with a request in flight (`busy`: a declined upgrade's answer too) is reset first
   * (reset-socket.ts: an intercepted session's CONNECT connection under it too): its response is
   * cut, and one without a length would end
   * with the connection, a FIN passing part of its body for all of it. The others are destroyed.
   */
  destroyAll(): number {
    const open = this.#sockets.size;
    this.#sockets.forEach((socket) => {
      if (((socket as Admitted)[CONNECTION_SLOT]?.busy ?? 0) > 0) resetSocket(socket);
    });
    this.#sockets.forEach((socket) => {
      socket.destroy();
    });
    return open;
  }
}

/** The context of a socket the registry admitted, null for any other. */
export function admittedContext(socket: Socket): ConnectionContext | null {
  return (socket as Admitted)[CONNECTION_SLOT] ?? null;
}
