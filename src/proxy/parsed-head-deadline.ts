import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { SweepTimer } from '../net/sweep-timer.js';
import { parserError } from './client-error.js';
import type { ConnectionContext } from './connection-registry.js';
import { headArrived } from './handed-head.js';
import { headerCheckInterval } from './header-check-interval.js';
import type { Lifecycle } from './lifecycle.js';

/**
 * What node:http's parser says of the message it is parsing, as its own header deadline reads it
 * (headersTimeout): the time since the message began (its first byte; before a connection's first
 * one, since the connection began) and whether its head is complete. Optional: a runtime without
 * them has the head timed from when the drain awaited it.
 */
interface HeadClock {
  duration?: () => number;
  headersCompleted?: () => boolean;
}

/** node:http sets `server` on every connection it serves (an intercepted session's too). */
type ParsedSocket = Socket & { parser?: HeadClock | null; server?: EventEmitter };

interface AwaitedHead {
  readonly socket: ParsedSocket;
  readonly conn: ConnectionContext;
  /** conn.headsArrived when it was awaited: a later head is not this one. */
  readonly arrivals: number;
  /** performance.now() when the drain awaited it. */
  readonly since: number;
}

/**
 * header_timeout for the heads a drain awaits on connections node:http parses (handed-head.ts,
 * awaitParsedHeads): node:http stops timing heads once its server is closed, at the drain's start,
 * so without this only the drain's deadline would bound them. Checked as often as node:http checks
 * (header-check-interval.ts), each answered as node:http answers one it times out: its server's
 * 'clientError' with ERR_HTTP_REQUEST_TIMEOUT (client-error.ts: 408, KZP_ERR_HEADER_TIMEOUT).
 */
export class ParsedHeadDeadlines {
  readonly #timeoutMs: number;
  readonly #lifecycle: Lifecycle;
  /** Few, and only during a drain: an array, filtered at each check. */
  #heads: AwaitedHead[] = [];
  readonly #sweep: SweepTimer;

  constructor(headerTimeoutMs: number, lifecycle: Lifecycle) {
    this.#timeoutMs = headerTimeoutMs;
    this.#lifecycle = lifecycle;
    this.#sweep = new SweepTimer(headerCheckInterval(headerTimeoutMs), () => this.#check());
  }

  /** A head the drain awaits on `socket` (awaitHead has just marked it): timed until node:http has it. */
  time(socket: Socket, conn: ConnectionContext): void {
    // header_timeout 0s: no deadline, as node:http takes headersTimeout 0.
    if (this.#timeoutMs <= 0) return;
    this.#heads.push({ socket, conn, arrivals: conn.headsArrived, since: performance.now() });
    this.#sweep.start();
  }

  /** The drain is over: what is left is cut, not timed. */
  stop(): void {
    this.#sweep.stop();
  }

  #check(): boolean {
    const now = performance.now();
    const due: AwaitedHead[] = [];
    this.#heads = this.#heads.filter((head) => {
      const parser = head.socket.parser;
      const conn = head.conn;
      // Arrived (a request, an upgrade, a CONNECT), answered, or gone.
      if (!conn.headHandedOver || conn.headsArrived !== head.arrivals || head.socket.destroyed || parser === null || parser === undefined) return false;
      if (this.#elapsed(parser, head.since, now) < this.#timeoutMs) return true;
      due.push(head);
      return false;
    });
    for (const head of due) this.#expire(head);
    return this.#heads.length > 0;
  }

  #elapsed(parser: HeadClock, since: number, now: number): number {
    if (parser.duration === undefined || parser.headersCompleted === undefined) return now - since;
    // A head complete: its body is coming (a request answered before its body was all in); the next head has not begun.
    return parser.headersCompleted() ? 0 : parser.duration();
  }

  #expire(head: AwaitedHead): void {
    headArrived(head.conn, this.#lifecycle);
    const error = parserError('ERR_HTTP_REQUEST_TIMEOUT', 'request header timeout');
    if (head.socket.server?.emit('clientError', error, head.socket) !== true) head.socket.destroy();
  }
}
