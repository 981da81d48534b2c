import type { Socket } from 'node:net';
import { LinkedSet, type LinkedEntry } from './linked-set.js';
import { SweepTimer, sweepIntervalMs } from './sweep-timer.js';

/** One watched connection (a tunnel's two sockets, or a client socket alone). */
export interface IdleWatch {
  /**
   * What runs when no watched socket has read a byte for the idle timeout (measured from the last
   * read seen, or from `restart()`). It runs again after every further idle timeout until `stop()`.
   */
  onIdle: () => void;
  /** Start the idle time over from now (a phase that should not inherit the last one's quiet). */
  restart(): void;
  /** No more calls; idempotent. */
  stop(): void;
}

/**
 * Idle timeouts for many connections by one periodic sweep instead of a timer per socket. A
 * socket's own timeout (`socket.setTimeout`) is a Timeout object and a bound function per socket,
 * re-queued on every read and write; a tunnel had three of them (the lane's, then one per side).
 * Here a watch is one small object in a LinkedSet (see linked-set.ts), and activity costs nothing
 * on the data path: each sweep compares the sockets' `bytesRead` with what it saw last time. Reads
 * only, as Squid's read_timeout counts them: in a tunnel every write follows a read of the other side.
 *
 * A connection is found idle between the timeout and the timeout plus one sweep interval (an
 * eighth of the timeout, 10 ms to 1 s). The interval timer runs only while something is watched,
 * and never keeps the process alive. A timeout of 0 watches nothing, as `socket.setTimeout(0)`.
 */
export class IdleSweep {
  readonly #timeoutMs: number;
  readonly #watched = new LinkedSet<Watch>();
  readonly #timer: SweepTimer;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#timer = new SweepTimer(sweepIntervalMs(timeoutMs), () => this.#sweep());
  }

  /** Connections watched now. */
  get size(): number {
    return this.#watched.size;
  }

  /** `onIdle` may be set later, on the watch (what spliceSockets does). */
  watch(first: Socket, second: Socket | null, onIdle: () => void = nothing): IdleWatch {
    if (this.#timeoutMs <= 0) return new Unwatched(onIdle);
    const watch = new Watch(this.#watched, first, second, onIdle);
    this.#timer.start();
    return watch;
  }

  /** Stop sweeping; watches made later start it again. */
  close(): void {
    this.#timer.stop();
  }

  /** Whether anything is still watched. */
  #sweep(): boolean {
    if (this.#watched.size === 0) return false;
    const now = performance.now();
    this.#watched.forEach((watch) => {
      watch.check(now, this.#timeoutMs);
    });
    return true;
  }
}

class Watch implements IdleWatch {
  onIdle: () => void;
  readonly #set: LinkedSet<Watch>;
  readonly #entry: LinkedEntry<Watch>;
  readonly #first: Socket;
  readonly #second: Socket | null;
  #bytes: number;
  #since: number;

  constructor(set: LinkedSet<Watch>, first: Socket, second: Socket | null, onIdle: () => void) {
    this.#set = set;
    this.#first = first;
    this.#second = second;
    this.onIdle = onIdle;
    this.#bytes = this.#read();
    this.#since = performance.now();
    this.#entry = set.add(this);
  }

  check(now: number, timeoutMs: number): void {
    const bytes = this.#read();
    if (bytes !== this.#bytes) {
      this.#bytes = bytes;
      this.#since = now;
    } else if (now - this.#since >= timeoutMs) {
      this.#since = now;
      this.onIdle();
    }
  }

  restart(): void {
    this.#bytes = this.#read();
    this.#since = performance.now();
  }

  stop(): void {
    this.#set.delete(this.#entry);
  }

  #read(): number {
    return this.#first.bytesRead + (this.#second === null ? 0 : this.#second.bytesRead);
  }
}

/** idle_timeout 0: nothing is ever idle. */
class Unwatched implements IdleWatch {
  onIdle: () => void;

  constructor(onIdle: () => void) {
    this.onIdle = onIdle;
  }

  restart(): void {
    // Nothing to time.
  }

  stop(): void {
    // Nothing watched.
  }
}

function nothing(): void {
  // Until the owner says what idle means.
}
