import type { Socket } from 'node:net';
import { hasBareLf, mayBeLeanHead, parseLeanRequestHead, type LeanRequestHead } from '../net/http1-request-head.js';
import type { IdleWatch } from '../net/idle-sweep.js';
import type { LinkedEntry } from '../net/linked-set.js';
import type { RequestView } from './exchange-views.js';
import type { FastLaneOptions, LaneSets } from './fast-lane.js';
import { parserError } from './client-error.js';
import { awaitHead, headArrived } from './handed-head.js';
import { handleExchange } from './http-forward.js';
import { LeanResponse } from './lean-response.js';
import { handBack } from './parser-hand-off.js';
import { requestHeaders } from './lean-request-headers.js';
import type { ProxyContext } from './proxy-context.js';

const HEAD_END = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

/** One client connection in the fast lane (fast-lane.ts): its heads, its requests one at a time, its hand-over. */
export class LaneConnection {
  readonly #proxy: ProxyContext;
  readonly #options: FastLaneOptions;
  readonly #socket: Socket;
  readonly #handOverTo: (socket: Socket) => void;
  readonly #lane: LaneSets;
  #buffer: Buffer | null = null;
  #response: LeanResponse | null = null;
  #idleWatch: IdleWatch | null = null;
  /** This connection's place in the lane's idle and waiting sets, while it is in them. */
  #idleEntry: LinkedEntry<LaneConnection> | null = null;
  #waitingEntry: LinkedEntry<LaneConnection> | null = null;
  #handedOverEntry: LinkedEntry<LaneConnection> | null = null;
  /** The connection's headsArrived when the lane handed over a head it times: that head's, not a later one's. */
  #handedArrivals = 0;
  /** When the head being waited for started (performance.now()), while waiting. */
  #waitingSince = 0;
  /** Waiting with no byte read yet (a new connection): Lifecycle.headBegun(true), which wrap mode's stop does not wait for. */
  #silent = false;
  /** The client sent its FIN. */
  #ended = false;

  constructor(
    proxy: ProxyContext,
    options: FastLaneOptions,
    socket: Socket,
    handOver: (socket: Socket) => void,
    lane: LaneSets,
  ) {
    this.#proxy = proxy;
    this.#options = options;
    this.#socket = socket;
    this.#handOverTo = handOver;
    this.#lane = lane;
  }

  start(): void {
    const socket = this.#socket;
    // The keep-alive idle close, by the proxy's idle sweep rather than a timer per socket.
    this.#idleWatch = this.#proxy.idleSweep.watch(socket, null, this.#onTimeout);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onClose);
    // The first head is timed from the connection's start, as node:http times it.
    this.#wait();
  }

  /** Since when the head being waited for has been waited for (performance.now()). */
  get waitingSince(): number {
    return this.#waitingSince;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  headTimedOut(): void {
    this.#detach();
    this.#options.clientError(parserError('ERR_HTTP_REQUEST_TIMEOUT', 'request header timeout'), this.#socket);
  }

  /** The head handed to node:http unfinished is due: 408, as node:http would answer, unless node:http has it by now. */
  handedHeadTimedOut(): void {
    if (this.#handedOverEntry !== null) this.#lane.handedOver.delete(this.#handedOverEntry);
    this.#handedOverEntry = null;
    const socket = this.#socket as Socket & { parser?: unknown };
    const conn = this.#proxy.registry.get(socket);
    // Arrived (a head awaited since, a drain's, is not the lane's to time), or no parser left:
    // node:http took a CONNECT or an upgrade, whose head was complete.
    if (!conn.headHandedOver || conn.headsArrived !== this.#handedArrivals || socket.destroyed || socket.parser === null || socket.parser === undefined) return;
    headArrived(conn, this.#proxy.lifecycle);
    this.#options.clientError(parserError('ERR_HTTP_REQUEST_TIMEOUT', 'request header timeout'), socket);
  }

  // Listeners are the methods below, bound: a closure's optimized code lives only as long as one
  // of its closures does (see connect-tunnel.ts), a method's as long as its class.
  readonly #onData: (chunk: Buffer) => void = this.#data.bind(this);
  readonly #onEnd: () => void = this.#end.bind(this);
  readonly #onClose: () => void = this.#closed.bind(this);
  /** Listened to from the first response on (a tunnel's connection never needs it). */
  #onDrain: (() => void) | null = null;
  readonly #onTimeout: () => void = this.#timedOut.bind(this);

  #data(chunk: Buffer): void {
    const buffer = this.#buffer === null ? chunk : Buffer.concat([this.#buffer, chunk]);
    this.#buffer = buffer;
    if (this.#response !== null) {
      // A pipelined request waits for the current response; read no further than one head ahead.
      if (buffer.length > this.#options.maxHeaderBytes) this.#socket.pause();
      return;
    }
    this.#next();
  }

  #end(): void {
    this.#ended = true;
    if (this.#response !== null) {
      // As node:http does: a client that stops sending has given up on the answer; the socket
      // closes once our side ends too, and the response's 'close' abandons the destination.
      this.#socket.end();
      return;
    }
    this.#detach();
    // A head cut off by the FIN is a bad request, as node:http answers it; otherwise the client is done.
    if (this.#buffer !== null) this.#options.clientError(parserError('HPE_INVALID_EOF_STATE', 'request head cut off'), this.#socket);
    else this.#socket.end();
  }

  #closed(): void {
    this.#idleWatch?.stop();
    this.#leaveSets();
    this.#response?.socketClosed();
    this.#response = null;
  }

  #drained(): void {
    this.#response?.drained();
  }

  #timedOut(): void {
    // In flight, the destination's own timeouts answer (504); idle, the keep-alive time is up.
    if (this.#response === null) this.#socket.destroy();
  }

  /** Serve the next buffered head, wait for more of it, or hand the connection over. */
  #next(): void {
    const buffer = this.#buffer;
    if (buffer === null) return;
    if (!mayBeLeanHead(buffer)) {
      this.#handOver();
      return;
    }
    const end = buffer.indexOf(HEAD_END);
    if (end < 0) {
      // Too long for a head, or a bare LF in it (its end would never be found): node:http gives
      // the 431 or the 400. Looked for only here, so a head that arrives whole costs nothing more.
      if (buffer.length > this.#options.maxHeaderBytes || hasBareLf(buffer)) this.#handOver();
      else {
        this.#leaveIdle();
        this.#wait();
      }
      return;
    }
    const headLength = end + HEAD_END.length;
    const head = headLength > this.#options.maxHeaderBytes ? null : parseLeanRequestHead(buffer.toString('latin1', 0, headLength));
    if (head === null) {
      this.#handOver();
      return;
    }
    this.#buffer = headLength < buffer.length ? buffer.subarray(headLength) : null;
    this.#leaveSets();
    if (head.connect) this.#tunnel(head);
    else this.#serve(head);
  }

  /** A CONNECT: the connection leaves the lane as node:http's 'connect' event leaves its parser. */
  #tunnel(head: LeanRequestHead): void {
    const socket = this.#socket;
    const rest = this.#buffer ?? EMPTY;
    this.#buffer = null;
    this.#detach();
    // As node:http leaves it (its setter is public, its type read-only): not flowing until the
    // tunnel reads, so bytes that arrive meanwhile are kept, and the tunnel's first 'data' listener resumes it.
    (socket as { readableFlowing: boolean | null }).readableFlowing = null;
    this.#options.connect({ url: head.url, headers: requestHeaders(head) }, socket, rest);
  }

  #serve(head: LeanRequestHead): void {
    const proxy = this.#proxy;
    if (this.#onDrain === null) {
      this.#onDrain = this.#drained.bind(this);
      this.#socket.on('drain', this.#onDrain);
    }
    const response = new LeanResponse(this.#socket, {
      method: head.method,
      closeAfter: head.close || proxy.lifecycle.draining,
      keepAliveTimeoutMs: this.#options.idleTimeoutMs,
      finished: this.#finished.bind(this),
    });
    this.#response = response;
    const request: RequestView = {
      method: head.method,
      url: head.url,
      headers: requestHeaders(head),
      rawHeaders: head.rawHeaders,
      rawTrailers: [],
      httpVersion: '1.1',
      httpVersionMajor: 1,
      httpVersionMinor: 1,
      socket: this.#socket,
    };
    try {
      handleExchange(proxy, request, null, response);
    } catch (error) {
      // A fault of ours must cost this connection, never the process (node:http's handlers run inside its own guard).
      proxy.logger.error({ err: error instanceof Error ? error.name : 'unknown' }, 'exchange failed');
      this.#socket.destroy();
    }
  }

  #finished(reusable: boolean): void {
    this.#response = null;
    const socket = this.#socket;
    if (socket.destroyed) return;
    if (!reusable || this.#ended || this.#proxy.lifecycle.draining) {
      this.#detach();
      socket.end();
      return;
    }
    socket.resume();
    // Idle from the end of this response, as node:http times keep-alive.
    this.#idleWatch?.restart();
    // A pipelined head already read is served (or waited for, timed from now) by #next.
    if (this.#buffer === null) this.#idleEntry ??= this.#lane.idle.add(this);
    else this.#next();
  }

  /** From here on the connection is node:http's: the bytes read so far go back to the socket first. */
  #handOver(): void {
    const socket = this.#socket;
    const buffer = this.#buffer;
    // A head begun while the lane waited and not complete yet: node:http would time it from now.
    const timed = this.#waitingEntry !== null && this.#options.headerTimeoutMs > 0;
    const unfinishedSince = timed && buffer !== null && buffer.indexOf(HEAD_END) < 0 ? this.#waitingSince : -1;
    // A head waited for stays in flight for a drain until node:http has it (handed-head.ts).
    if (this.#waitingEntry !== null) awaitHead(this.#proxy.registry.get(socket), socket, this.#proxy.lifecycle);
    this.#detach();
    this.#buffer = null;
    handBack(socket, buffer, this.#handOverTo);
    if (unfinishedSince >= 0) this.#timeHandedHead(unfinishedSince);
  }

  /** Rare (a head trickled in, then found not lean): timed from its start until node:http's 'request' clears the mark. */
  #timeHandedHead(since: number): void {
    this.#handedArrivals = this.#proxy.registry.get(this.#socket).headsArrived;
    this.#waitingSince = since;
    this.#handedOverEntry = this.#lane.handedOver.add(this);
    this.#lane.waitingStarted();
  }

  /** The lane lets go of the connection: no more of its events, and out of its sets. */
  #detach(): void {
    this.#idleWatch?.stop();
    this.#leaveSets();
    const socket = this.#socket;
    socket.off('data', this.#onData);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onClose);
    if (this.#onDrain !== null) socket.off('drain', this.#onDrain);
  }

  /**
   * Waiting for a head from now, unless already waiting (then timed from then): in flight for a
   * drain (Lifecycle.headBegun) until the head is in, timed out, or the connection gone.
   */
  #wait(): void {
    const silent = this.#buffer === null;
    if (this.#waitingEntry === null) {
      this.#waitingSince = performance.now();
      this.#waitingEntry = this.#lane.waiting.add(this);
      this.#proxy.lifecycle.headBegun(silent);
      this.#lane.waitingStarted();
    } else if (this.#silent && !silent) this.#proxy.lifecycle.firstBytes(); // a head begun, which any drain waits for
    this.#silent = silent;
  }

  #leaveIdle(): void {
    if (this.#idleEntry === null) return;
    this.#lane.idle.delete(this.#idleEntry);
    this.#idleEntry = null;
  }

  /** Neither idle nor waiting. */
  #leaveSets(): void {
    this.#leaveIdle();
    if (this.#waitingEntry === null) return;
    this.#lane.waiting.delete(this.#waitingEntry);
    this.#waitingEntry = null;
    this.#proxy.lifecycle.headEnded(this.#silent);
  }
}
