import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { LinkedSet } from '../net/linked-set.js';
import { SweepTimer } from '../net/sweep-timer.js';
import { LaneConnection } from './lane-connection.js';
import type { ProxyContext } from './proxy-context.js';

export interface FastLaneOptions {
  readonly maxHeaderBytes: number;
  readonly headerTimeoutMs: number;
  /** Also how often waiting heads are checked against headerTimeoutMs. */
  readonly checkingIntervalMs: number;
  readonly idleTimeoutMs: number;
  /** What node:http does with a client error (client-error.ts): 408 for a head not finished in time, 400 for one cut off. */
  readonly clientError: (error: Error, socket: Socket) => void;
  /** What node:http's 'connect' event runs (connect-tunnel.ts): the socket is the tunnel's from then on. */
  readonly connect: (req: ConnectView, socket: Socket, head: Buffer) => void;
}

/** The lane's bookkeeping, shared with its connections. */
export interface LaneSets {
  /**
   * Connections with no request in flight and nothing buffered: what a graceful close closes at
   * once. Linked sets, not Set and Map: every connection passes through both (see linked-set.ts).
   */
  readonly idle: LinkedSet<LaneConnection>;
  /** Connections waiting for the rest of a head (since `waitingSince`), oldest first. */
  readonly waiting: LinkedSet<LaneConnection>;
  /**
   * Connections handed to node:http in the middle of a head: node:http times a head from its own
   * first byte, so the lane keeps timing it from when it began (`waitingSince`) until node:http has it.
   */
  readonly handedOver: LinkedSet<LaneConnection>;
  /** A head started waiting: the sweep that times heads out must run. */
  readonly waitingStarted: () => void;
}

/** What the CONNECT handler reads of the request. */
export type ConnectView = Pick<IncomingMessage, 'url' | 'headers'>;

/**
 * The fast lane for plain HTTP. node:http spends more CPU per request than the proxy's whole
 * decision (bench/profile.mjs http); the common request, an absolute-form GET without a body,
 * needs none of what it provides. So each admitted connection starts here: a request whose head
 * parseLeanRequestHead() takes is decided and relayed by the same code as node:http's requests
 * (http-forward.ts), answered by a LeanResponse that keeps node:http's wire rules. The first
 * request it does not take (CONNECT, a body, an Upgrade, anything malformed or unusual) hands the
 * connection, with every byte read so far, to node:http for good, at a request boundary: node:http
 * then answers it, errors included. Requests are served one at a time; pipelined ones wait, read
 * ahead by one head at most.
 */
export class FastLane {
  readonly #proxy: ProxyContext;
  readonly #options: FastLaneOptions;
  readonly #lane: LaneSets = {
    idle: new LinkedSet(),
    waiting: new LinkedSet(),
    handedOver: new LinkedSet(),
    waitingStarted: () => {
      this.#sweep.start();
    },
  };
  /**
   * Runs while heads are waiting (an idle proxy is not woken by it), a drain's included: a head
   * still arriving is in flight, and header_timeout bounds it there too.
   */
  readonly #sweep: SweepTimer;

  constructor(proxy: ProxyContext, options: FastLaneOptions) {
    this.#proxy = proxy;
    this.#options = options;
    this.#sweep = new SweepTimer(options.checkingIntervalMs, () => {
      this.#expireHeads();
      return this.#lane.waiting.size > 0 || this.#lane.handedOver.size > 0;
    });
  }

  /** `handOver` is node:http's connection listener: from then on the connection is node:http's, bytes read so far included. */
  accept(socket: Socket, handOver: (socket: Socket) => void): void {
    const connection = new LaneConnection(this.#proxy, this.#options, socket, handOver, this.#lane);
    connection.start();
  }

  /** Connections the lane holds between requests: idle, or waiting for (the rest of) a head. */
  get held(): number {
    return this.#lane.idle.size + this.#lane.waiting.size;
  }

  /**
   * Graceful close: idle connections end now; the others after their response, those waiting for
   * a head (a new connection, or a head begun) once it is answered or has timed out.
   */
  closeIdle(): void {
    this.#lane.idle.forEach((connection) => {
      connection.destroy();
    });
  }

  #expireHeads(): void {
    // header_timeout 0s: no deadline, as node:http takes headersTimeout 0.
    if (this.#options.headerTimeoutMs <= 0) return;
    const deadline = performance.now() - this.#options.headerTimeoutMs;
    this.#lane.waiting.forEach((connection) => {
      if (connection.waitingSince <= deadline) connection.headTimedOut();
    });
    this.#lane.handedOver.forEach((connection) => {
      if (connection.waitingSince <= deadline) connection.handedHeadTimedOut();
    });
  }
}
