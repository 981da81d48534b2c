import type { Socket } from 'node:net';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { ParsedHead } from '../net/http1-head.js';
import { ResponseParser, type ResponseHead } from '../net/http1-response-parser.js';
import { pumpBody, type BodyFraming, type RequestBody } from './body-pump.js';

/** What one request on an origin connection tells its owner (upstream-dispatch.ts). */
export interface OriginExchange {
  onHead(head: ResponseHead): void;
  /** An interim answer (100 Continue, 102 Processing, 103 Early Hints...): the final head follows. */
  onInterim?(head: ParsedHead): void;
  /** Returns false to stop reading the destination until resume() (the client is slow). */
  onBody(chunk: Buffer): boolean;
  onComplete(trailers: readonly string[]): void;
  /**
   * A read has been parsed and the answer goes on (what came with the head, or the read's body
   * chunks, have been handed over). Returns false to stop reading until resume(), as onBody.
   */
  onParsed?(): boolean;
  /**
   * The exchange failed; nothing more comes. `unanswered`: the connection was a reused one and it
   * closed before a byte of the answer arrived (the destination dropped an idle connection as the
   * request went out), so a request without a body may be sent again on a fresh connection.
   */
  onError(error: KaizenProxyError, unanswered: boolean): void;
}

export interface OriginRequest extends BodyFraming {
  readonly method: string;
  /** Request line, headers and the empty line, as written to the wire (latin1). */
  readonly head: string;
  /** A body to stream after the head, with backpressure (body-pump.ts); null without one. */
  readonly body: RequestBody | null;
}

export interface OriginConnectionOptions {
  /** Largest response head (and trailer section) taken; beyond, KZP_ERR_UPSTREAM_PROTOCOL. */
  readonly maxHeadBytes: number;
  /** Silence allowed while a request is outstanding (no answer, stalled body): KZP_ERR_UPSTREAM_TIMEOUT. */
  readonly exchangeTimeoutMs: number;
  /** Silence allowed while the connection waits in the pool for its next request. */
  readonly idleTimeoutMs: number;
  /** The exchange finished and the connection can take another request (otherwise it is closed). */
  readonly release: (connection: OriginConnection) => void;
  /** The connection closed (the pool's count); called once, whatever closed it. */
  readonly closed: (connection: OriginConnection) => void;
  /**
   * The connection left the shared pool for a keeper (keepFor): called once, so that the pool no
   * longer counts it against the destination's connections it hands out.
   */
  readonly kept: (connection: OriginConnection) => void;
}

/**
 * One keep-alive HTTP/1.1 connection to an allowed destination, carrying one request at a time:
 * the request head and body written with backpressure, the answer read by our own parser
 * (http1-response-parser.ts) and handed to the exchange as it arrives. A connection is reused
 * only when the answer was complete, framed, not `Connection: close`, and the request body was
 * sent whole; anything the destination sends while no request is outstanding closes it.
 */
export class OriginConnection {
  readonly #socket: Socket;
  readonly #options: OriginConnectionOptions;
  readonly #parser: ResponseParser;
  #exchange: OriginExchange | null = null;
  /** Takes pumpBody's listeners off the request body (null when no body is being sent). */
  #stopBody: (() => void) | null = null;
  #bodySent = true;
  #completed: { readonly trailers: readonly string[]; readonly reusable: boolean } | null = null;
  #served = 0;
  #timeoutMs = 0;
  #closed = false;
  /**
   * Set once the connection took part in connection-bound authentication (pinned-origin.ts): it
   * is handed to this instead of back to the pool, for good.
   */
  #keeper: ((connection: OriginConnection) => void) | null = null;

  constructor(socket: Socket, options: OriginConnectionOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#parser = new ResponseParser(
      {
        onHead: (head) => this.#exchange?.onHead(head),
        onInterim: (head) => this.#exchange?.onInterim?.(head),
        onBody: (chunk) => {
          if (this.#exchange?.onBody(chunk) === false) socket.pause();
        },
        onComplete: (trailers, reusable) => {
          this.#completed = { trailers, reusable };
        },
      },
      { maxHeadBytes: options.maxHeadBytes },
    );
    socket.on('data', (chunk: Buffer) => {
      this.#onData(chunk);
    });
    socket.on('end', () => {
      this.#onEnd();
    });
    socket.on('timeout', () => {
      if (this.#exchange === null) socket.destroy();
      else this.#fail(new KaizenProxyError('KZP_ERR_UPSTREAM_TIMEOUT', 'destination timed out'), false);
    });
    socket.on('error', ignore);
    socket.once('close', () => {
      this.#closed = true;
      if (this.#exchange !== null) this.#fail(new KaizenProxyError('KZP_ERR_UPSTREAM_CONNECT', 'destination closed the connection'), this.#served > 0 && !this.#parser.started);
      options.closed(this);
    });
    this.#setTimeout(options.idleTimeoutMs);
  }

  /** Send one request; the exchange hears of its answer. The connection must be idle. */
  send(request: OriginRequest, exchange: OriginExchange): void {
    this.#exchange = exchange;
    this.#completed = null;
    this.#parser.expect(request.method);
    this.#setTimeout(this.#options.exchangeTimeoutMs);
    const socket = this.#socket;
    socket.resume();
    if (request.body === null) {
      this.#bodySent = true;
      socket.write(request.head, 'latin1');
      return;
    }
    this.#bodySent = false;
    socket.write(request.head, 'latin1');
    this.#stopBody = pumpBody(this, request, request.body, socket);
  }

  /** Not used after all (the client went away before the request was sent): back to the pool (or its keeper). */
  release(): void {
    if (this.#exchange === null && this.open) this.#handBack();
  }

  /**
   * Still connected: a kept or pooled connection may have been closed by its destination or its
   * idle timeout, or discarded for bytes it sent while idle (closed at once, 'close' still to come).
   */
  get open(): boolean {
    return !this.#closed && !this.#socket.destroyed;
  }

  /**
   * From now on, whenever it can take another request, the connection goes to `keeper` instead of
   * back to the shared pool (a destination that authenticated the connection, not a request).
   */
  keepFor(keeper: (connection: OriginConnection) => void): void {
    const first = this.#keeper === null;
    this.#keeper = keeper;
    if (first) this.#options.kept(this);
  }

  /** The client caught up: read the destination again. */
  resume(): void {
    if (this.#exchange !== null) this.#socket.resume();
  }

  /** The client went away mid-exchange: the connection cannot be reused, and the exchange hears nothing more. */
  abort(): void {
    if (this.#exchange === null) return;
    this.#exchange = null;
    this.#unhookBody();
    this.#socket.destroy();
  }

  /** Close now (the pool is destroyed); an exchange in progress fails. */
  destroy(): void {
    this.#socket.destroy();
  }

  /** pumpBody's end: the whole request body went out. */
  bodyDone(): void {
    this.#bodySent = true;
    this.#stopBody = null;
  }

  #onData(chunk: Buffer): void {
    if (this.#exchange === null) {
      // Bytes with no request outstanding: the next answer could not be told from them.
      this.#socket.destroy();
      return;
    }
    const exchange = this.#exchange;
    const error = this.#parser.execute(chunk);
    if (this.#completed !== null) this.#complete(error === null);
    else if (error !== null) this.#fail(new KaizenProxyError(error.code, error.reason), false);
    // Only to the exchange still served: the parse's own callbacks can end it (the client left).
    else if (this.#exchange === exchange && exchange.onParsed?.() === false) this.#socket.pause();
  }

  #onEnd(): void {
    const error = this.#exchange === null ? null : this.#parser.finish();
    if (this.#completed !== null) this.#complete(false);
    else if (error !== null) {
      // Closed before a byte of the answer is a refused request, not a broken answer.
      if (this.#parser.started) this.#fail(new KaizenProxyError(error.code, error.reason), false);
      else this.#fail(new KaizenProxyError('KZP_ERR_UPSTREAM_CONNECT', 'destination closed the connection'), this.#served > 0);
    }
    this.#socket.destroy();
  }

  #complete(clean: boolean): void {
    const exchange = this.#exchange;
    const completed = this.#completed;
    this.#exchange = null;
    this.#completed = null;
    if (exchange === null || completed === null) return;
    this.#served++;
    const reusable = clean && completed.reusable && this.#bodySent && !this.#closed;
    this.#unhookBody();
    this.#setTimeout(this.#options.idleTimeoutMs);
    exchange.onComplete(completed.trailers);
    if (reusable) {
      // Paused for a slow client whose answer is now complete: idle, it must notice a close.
      this.#socket.resume();
      this.#handBack();
    } else this.#socket.destroy();
  }

  #handBack(): void {
    if (this.#keeper === null) this.#options.release(this);
    else this.#keeper(this);
  }

  #fail(error: KaizenProxyError, unanswered: boolean): void {
    const exchange = this.#exchange;
    this.#exchange = null;
    this.#unhookBody();
    this.#socket.destroy();
    exchange?.onError(error, unanswered);
  }

  #unhookBody(): void {
    const stop = this.#stopBody;
    this.#stopBody = null;
    stop?.();
  }

  #setTimeout(ms: number): void {
    if (ms === this.#timeoutMs) return;
    this.#timeoutMs = ms;
    this.#socket.setTimeout(ms);
  }
}

function ignore(): void {
  // Errors surface as 'close' (with the exchange failed there); the event itself needs no handling.
}
