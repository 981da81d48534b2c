import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionContext } from './connection-registry.js';

/**
 * Requests of one client connection relayed at once on the node:http path (what Squid calls
 * pipeline_prefetch). Clients that pipeline send a few requests ahead; a client that sends
 * thousands and reads nothing must not get a destination connection (or a place in a
 * destination's queue) for each: with no bound, one connection of 100,000 pipelined POSTs took
 * 256 destination connections and queued 50,249 requests (RSS 93 to 388 MB). Eight keeps a
 * pipelining client's requests overlapping while one connection holds at most 8 of a destination's
 * 256 connections.
 */
export const MAX_IN_FLIGHT = 8;

/** The fields node:http's server keeps on a socket to stop reading it (lib/_http_server.js). */
type ServedSocket = Socket & { _paused?: boolean; parser?: { pause(): void; resume(): void } | null };

/**
 * The requests node:http parsed on one connection while earlier ones were unfinished. node:http
 * hands every pipelined request over as soon as it is parsed, and stops reading only when
 * responses queued behind the current one hold more than a high-water mark of bytes (none while
 * they wait on their destinations); and when the client goes away it never closes those queued
 * responses (only the current one, and the requests), so their exchanges went on. Here, past
 * MAX_IN_FLIGHT unfinished requests, a request is held (not relayed) and the connection is not
 * read until every held request has started, as node:http itself stops reading (its `_paused`
 * flag, the socket paused, the parser paused after the chunk in hand): node:http resumes on its
 * own drain, so each resume is undone while requests are held. What one read chunk (64 KiB) holds
 * can still arrive after the pause; nothing more. When the socket closes, every response still
 * queued is closed (destroyed, then 'close', as node:http closes the current one), which cancels
 * its exchange: its destination request aborted or taken out of the pool's queue. A socket not
 * read cannot tell its client closed: while requests are held, a close is seen once the
 * connection is read again or a write to it fails (its requests in flight answered or timed
 * out), so a client gone meanwhile keeps at most MAX_IN_FLIGHT exchanges until then.
 *
 * Made on a connection's first pipelined request only: a client that waits for each answer never
 * gets one.
 */
export class RequestPipeline {
  readonly #socket: ServedSocket;
  readonly #conn: ConnectionContext;
  readonly #dispatch: (req: IncomingMessage, res: ServerResponse) => void;
  /** Responses of requests relayed through here, oldest first, until their 'close'. */
  readonly #open: ServerResponse[] = [];
  /** Requests not relayed yet, and their responses, oldest first. */
  readonly #heldRequests: IncomingMessage[] = [];
  readonly #heldResponses: ServerResponse[] = [];
  /** Reading is stopped for the held requests. */
  #holding = false;
  #closed = false;
  /** Responses abandoned behind an answer that closes the connection (cancelBehind). */
  readonly #cancelled = new WeakSet<object>();

  constructor(socket: Socket, conn: ConnectionContext, dispatch: (req: IncomingMessage, res: ServerResponse) => void) {
    this.#socket = socket;
    this.#conn = conn;
    this.#dispatch = dispatch;
    socket.on('resume', this.#resumed.bind(this));
    socket.on('close', this.#socketClosed.bind(this));
  }

  /** Requests parsed but not relayed yet (tests, and what /metrics could show). */
  get held(): number {
    return this.#heldRequests.length;
  }

  /** A request node:http parsed on this connection: relayed now, or held behind MAX_IN_FLIGHT. */
  add(req: IncomingMessage, res: ServerResponse): void {
    if (this.#closed) return;
    if (this.#heldRequests.length === 0 && this.#conn.busy < MAX_IN_FLIGHT) {
      this.#start(req, res);
      return;
    }
    this.#heldRequests.push(req);
    this.#heldResponses.push(res);
    this.#hold();
  }

  /** An exchange of this connection closed (from handleExchange): the next held request may start. */
  closed(res: object): void {
    const at = this.#open.indexOf(res as ServerResponse);
    if (at !== -1) this.#open.splice(at, 1);
    while (!this.#closed && this.#heldRequests.length > 0 && this.#conn.busy < MAX_IN_FLIGHT) {
      const req = this.#heldRequests.shift();
      const next = this.#heldResponses.shift();
      if (req === undefined || next === undefined) break;
      this.#start(req, next);
    }
    if (this.#heldRequests.length === 0) this.#release();
  }

  /**
   * `res` closes the connection (closing-response.ts): the requests after it are not processed
   * (RFC 9112 §9.6). Held ones are dropped, never relayed; relayed ones are abandoned as when the
   * client goes (their 'close': destination request aborted or taken out of the queue), their
   * responses queued behind `res`, which node:http never writes. Reading goes on (a refused
   * body may still be arriving); what node:http parses from now on is not relayed (http-forward.ts).
   */
  cancelBehind(res: ServerResponse): void {
    for (const req of this.#heldRequests.splice(0)) req.resume();
    this.#heldResponses.length = 0;
    this.#release();
    // Not found: `res` is the connection's first request, relayed before this pipeline existed.
    for (const behind of this.#open.slice(this.#open.indexOf(res) + 1)) {
      if (behind.writableFinished) continue;
      this.#cancelled.add(behind);
      behind.destroy();
      behind.emit('close');
    }
  }

  /** The response was abandoned behind an answer that closes the connection: the client never reads it. */
  cancelled(res: object): boolean {
    return this.#cancelled.has(res);
  }

  #start(req: IncomingMessage, res: ServerResponse): void {
    this.#open.push(res);
    this.#dispatch(req, res);
  }

  /** Called from node:http's 'request' (inside its parser): the parser pauses itself once the chunk in hand is done. */
  #hold(): void {
    this.#holding = true;
    this.#socket._paused = true;
    this.#socket.pause();
  }

  /** node:http resumed the connection (its socketOnDrain) while requests are held: stopped again before anything is read. */
  #resumed(): void {
    if (!this.#holding || this.#socket.destroyed) return;
    const socket = this.#socket;
    socket._paused = true;
    socket.parser?.pause();
    socket.pause();
  }

  /** Every held request has started: read again, as node:http's socketOnDrain does (it pauses again itself if its responses need it). */
  #release(): void {
    if (!this.#holding) return;
    this.#holding = false;
    const socket = this.#socket;
    if (socket.destroyed) return;
    socket._paused = false;
    socket.parser?.resume();
    socket.resume();
  }

  #socketClosed(): void {
    this.#closed = true;
    this.#holding = false;
    // Never relayed: node:http destroyed their requests; nothing of theirs started.
    this.#heldRequests.length = 0;
    this.#heldResponses.length = 0;
    for (const res of this.#open.splice(0)) {
      // The current response (it has the socket) and finished ones are closed by node:http itself.
      if (res.socket !== null || res.writableFinished) continue;
      res.destroy();
      res.emit('close');
    }
  }
}
