import { KaizenProxyError } from '../errors/kaizen-error.js';
import { LinkedSet, type LinkedEntry } from '../net/linked-set.js';
import { OriginConnection } from './origin-connection.js';
import { openRoute, type OriginRoute, type RouteSettings } from './origin-route.js';
import { ReuseHandover } from './reuse-handover.js';
import { upstreamErrorCode } from './upstream-error.js';

/** How a request for a connection ends: with one, or with the failure to report (its stable code). */
export type Acquired = (result: { readonly ok: true; readonly connection: OriginConnection } | { readonly ok: false; readonly error: KaizenProxyError }) => void;

/** A request waiting for a connection: in a destination's queue, or for a pooled one to be handed over (reuse-handover.ts). */
export interface QueuedAcquire {
  /** The client went away: out of the queue, its callback never called. */
  cancel(): void;
}

/** What every destination's pool dials and times its connections with. */
export interface DestinationSettings extends RouteSettings {
  /** The proxy's idle timeout: how long a destination may keep a request waiting between bytes. */
  readonly idleTimeoutMs: number;
}

/** Per destination, so one slow destination cannot take every socket; beyond, requests queue. */
const CONNECTIONS_PER_DESTINATION = 256;
/**
 * Requests one destination may keep waiting beyond its connections; past it a request is answered
 * 503 KZP_ERR_LIMIT_DESTINATION at once. Each waiting request holds its client's request and
 * response (and a client connection), and a destination already 1,024 requests behind 256 busy
 * connections is overloaded: the queue grew without bound before (50,249 requests from one client
 * that sent 100,000 pipelined POSTs, RSS 93 to 388 MB).
 */
const MAX_WAITING_PER_DESTINATION = 1_024;
/** Idle pooled connections close before typical origin keep-alive timeouts (5 s) race a reuse. */
const FREE_SOCKET_TIMEOUT_MS = 4_000;
/** Response heads (and trailers) up to Squid's reply_header_max_size; through an upstream proxy too (origin-route.ts). */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

/**
 * One destination's pool (scheme, host:port and its set of checked addresses, or the upstream
 * proxy that carries them: its route, origin-route.ts; keyed and kept by origin-pools.ts): opens
 * connections only on that route, reuses idle connections, queues requests beyond its connection
 * limit within a bound, and once retired from the LRU closes as its exchanges end.
 */
export class OriginPool {
  readonly #route: OriginRoute;
  readonly #options: DestinationSettings;
  /** Idle connections, most recent last (taken LIFO: the warmest, the least likely to be timed out). */
  readonly #idle: OriginConnection[] = [];
  readonly #all = new Set<OriginConnection>();
  /**
   * Connections kept for the client that authenticated them (pinned-origin.ts): out of the
   * destination's count, or 256 clients that each pinned one would leave every other request
   * to the destination (or to an upstream proxy, one pool for all) waiting for ever; bounded by
   * the client connections that hold them. Still closed by destroyAll().
   */
  readonly #kept = new Set<OriginConnection>();
  /** Requests waiting for a connection, oldest first (a linked set: a client that leaves takes its own out). */
  readonly #waiting = new LinkedSet<Waiting>();
  /** Called once a retired pool has no connection and no waiting request left. */
  readonly #onDrained: (pool: OriginPool) => void;
  /** Open connections plus dials in progress. */
  #count = 0;
  #retired = false;
  /** destroyAll() ran: a connection discarded on its way to a request is not replaced. */
  #destroyed = false;

  constructor(route: OriginRoute, options: DestinationSettings, onDrained: (pool: OriginPool) => void) {
    this.#route = route;
    this.#options = options;
    this.#onDrained = onDrained;
  }

  acquire(fresh: boolean, callback: Acquired): QueuedAcquire | null {
    if (!fresh) {
      const idle = this.#idle.pop();
      if (idle !== undefined) return this.#handOver(idle, callback);
    }
    if (this.#count < CONNECTIONS_PER_DESTINATION) {
      this.#open(callback);
      return null;
    }
    if (this.#waiting.size >= MAX_WAITING_PER_DESTINATION) {
      callback({ ok: false, error: new KaizenProxyError('KZP_ERR_LIMIT_DESTINATION', 'too many requests waiting for this destination') });
      return null;
    }
    const waiting = new Waiting(this, callback);
    waiting.entry = this.#waiting.add(waiting);
    return waiting;
  }

  /** A waiting request whose client went away. */
  cancel(waiting: Waiting): void {
    if (waiting.entry === null || !this.#waiting.delete(waiting.entry)) return;
    waiting.entry = null;
    this.#drainedYet();
  }

  /** Open connections apart from the idle ones (dials in progress and kept ones count as active), and waiting requests. */
  counts(): { readonly active: number; readonly idle: number; readonly queued: number } {
    return { active: this.#count - this.#idle.length + this.#kept.size, idle: this.#idle.length, queued: this.#waiting.size };
  }

  /** Dropped from the LRU: idle connections close now, busy ones when their exchange ends. True while any remain. */
  retire(): boolean {
    this.#retired = true;
    for (const connection of this.#idle.splice(0)) connection.destroy();
    return this.#count > 0 || this.#waiting.size > 0;
  }

  /** Its destination came back before the last exchange ended: pooled again. */
  revive(): void {
    this.#retired = false;
  }

  destroyAll(): void {
    this.#destroyed = true;
    this.retire();
    for (const connection of [...this.#all, ...this.#kept]) connection.destroy();
    for (let waiter = this.#nextWaiting(); waiter !== undefined; waiter = this.#nextWaiting()) {
      waiter({ ok: false, error: new KaizenProxyError('KZP_ERR_UPSTREAM_CONNECT', 'the proxy is closing') });
    }
  }

  #open(callback: Acquired): void {
    this.#count++;
    openRoute(this.#route, this.#options).then(
      (socket) => {
        const connection = new OriginConnection(socket, {
          maxHeadBytes: MAX_RESPONSE_HEAD_BYTES,
          exchangeTimeoutMs: this.#options.idleTimeoutMs,
          idleTimeoutMs: Math.min(FREE_SOCKET_TIMEOUT_MS, this.#options.idleTimeoutMs),
          release: (released) => {
            this.#release(released);
          },
          closed: (gone) => {
            this.#closed(gone);
          },
          kept: (pinned) => {
            this.#keep(pinned);
          },
        });
        this.#all.add(connection);
        callback({ ok: true, connection });
      },
      (error: unknown) => {
        this.#count--;
        callback({ ok: false, error: asProxyError(error) });
        this.#serveWaiting();
        this.#drainedYet();
      },
    );
  }

  /** Takes the oldest waiting request out of the queue. */
  #nextWaiting(): Acquired | undefined {
    const waiting = this.#waiting.first();
    if (waiting === undefined || waiting.entry === null) return undefined;
    this.#waiting.delete(waiting.entry);
    waiting.entry = null;
    return waiting.callback;
  }

  /** A connection that served a request goes to the next one a turn later (reuse-handover.ts). */
  #handOver(connection: OriginConnection, callback: Acquired): QueuedAcquire {
    return new ReuseHandover(connection, callback, (again) => {
      if (!this.#destroyed) return this.acquire(false, again);
      again({ ok: false, error: new KaizenProxyError('KZP_ERR_UPSTREAM_CONNECT', 'the proxy is closing') });
      return null;
    });
  }

  #release(connection: OriginConnection): void {
    const waiter = this.#nextWaiting();
    if (waiter !== undefined) {
      // Out of the queue: its client can no longer cancel the wait, and a client gone by then releases the connection.
      this.#handOver(connection, waiter);
      return;
    }
    if (this.#retired) connection.destroy();
    else this.#idle.push(connection);
  }

  /** `connection` is kept for its client from now on: its place goes to the next waiting request. */
  #keep(connection: OriginConnection): void {
    if (!this.#all.delete(connection)) return;
    this.#kept.add(connection);
    this.#count--;
    this.#serveWaiting();
    this.#drainedYet();
  }

  #closed(connection: OriginConnection): void {
    if (this.#kept.delete(connection)) return;
    this.#all.delete(connection);
    this.#count--;
    const at = this.#idle.lastIndexOf(connection);
    if (at !== -1) this.#idle.splice(at, 1);
    this.#serveWaiting();
    this.#drainedYet();
  }

  #drainedYet(): void {
    if (this.#retired && this.#count === 0 && this.#waiting.size === 0) this.#onDrained(this);
  }

  #serveWaiting(): void {
    if (this.#waiting.size === 0 || this.#count >= CONNECTIONS_PER_DESTINATION) return;
    const waiter = this.#nextWaiting();
    if (waiter !== undefined) this.#open(waiter);
  }
}

/** One request in a pool's queue; made only when a destination's connections are all busy. */
class Waiting implements QueuedAcquire {
  readonly #pool: OriginPool;
  readonly callback: Acquired;
  /** Its place in the queue; null once served or cancelled. */
  entry: LinkedEntry<Waiting> | null = null;

  constructor(pool: OriginPool, callback: Acquired) {
    this.#pool = pool;
    this.callback = callback;
  }

  cancel(): void {
    this.#pool.cancel(this);
  }
}

function asProxyError(error: unknown): KaizenProxyError {
  if (error instanceof KaizenProxyError) return error;
  return new KaizenProxyError(upstreamErrorCode(error), 'could not open a connection to the destination', { cause: error });
}
