import type { Acquired, QueuedAcquire } from './origin-pool.js';
import type { OriginConnection } from './origin-connection.js';

/**
 * A pooled connection (or one pinned to its client: upstream-dispatch.ts) on its way to a request,
 * one turn of the event loop late: whatever the destination sent while the connection sat idle
 * (bytes, an answer nobody asked for, its EOF) and that is already received but not yet read, is
 * read first, and discards the connection (origin-connection.ts) rather than being served as the
 * answer to this request, which may be another client's or another agent's. Without the turn, a
 * request read in the same poll as those bytes was sent on the connection and answered with them. A
 * discarded connection is replaced by `reacquire` (another idle one, a new one, or the queue).
 * Costs one setImmediate a reused connection. Bytes that arrive only after the request was written
 * cannot be told from its answer by any client: that race remains.
 */
export class ReuseHandover implements QueuedAcquire {
  #connection: OriginConnection | null;
  #immediate: NodeJS.Immediate | null;
  /** The replacement's wait, when the connection was discarded and the request queued again. */
  #then: QueuedAcquire | null = null;

  constructor(connection: OriginConnection, callback: Acquired, reacquire: (callback: Acquired) => QueuedAcquire | null) {
    this.#connection = connection;
    this.#immediate = setImmediate(() => {
      this.#immediate = null;
      this.#connection = null;
      if (connection.open) callback({ ok: true, connection });
      else this.#then = reacquire(callback);
    });
  }

  /** The client went away: the connection goes back to the pool, and the callback is never called. */
  cancel(): void {
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#immediate = null;
    const connection = this.#connection;
    this.#connection = null;
    connection?.release();
    this.#then?.cancel();
    this.#then = null;
  }
}
