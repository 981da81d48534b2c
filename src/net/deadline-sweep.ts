import { LinkedSet, type LinkedEntry } from './linked-set.js';
import { SweepTimer, sweepIntervalMs } from './sweep-timer.js';

/** A pending deadline: `cancel()` before it expires and its callback never runs. */
export interface Deadline {
  cancel(): void;
}

class Pending implements Deadline {
  readonly at: number;
  readonly #onExpire: () => void;
  readonly #set: LinkedSet<Pending>;
  readonly #entry: LinkedEntry<Pending>;

  constructor(set: LinkedSet<Pending>, at: number, onExpire: () => void) {
    this.at = at;
    this.#onExpire = onExpire;
    this.#set = set;
    this.#entry = set.add(this);
  }

  cancel(): void {
    this.#set.delete(this.#entry);
  }

  expire(): void {
    this.#set.delete(this.#entry);
    this.#onExpire();
  }
}

/**
 * Deadlines of one length (a connect timeout) by one periodic sweep instead of a Node timer each.
 * A `setTimeout` per dial attempt put a Timeout object in a timer list; with one dial at a time
 * (sequential new tunnels) that list was created and torn down for every tunnel. Here a deadline
 * is an entry in a LinkedSet (not a Set: see linked-set.ts): all have the same length, so insertion
 * order is expiry order and a sweep stops at the first one not yet due.
 *
 * A deadline expires between its length and its length plus one sweep interval (an eighth of the
 * length, 10 ms to 1 s), never before. The interval timer runs only while deadlines are pending,
 * and never keeps the process alive.
 */
export class DeadlineSweep {
  readonly #timeoutMs: number;
  readonly #pending = new LinkedSet<Pending>();
  readonly #onEmpty: () => void;
  readonly #timer: SweepTimer;

  constructor(timeoutMs: number, onEmpty: () => void = nothing) {
    this.#timeoutMs = Math.max(0, timeoutMs);
    this.#onEmpty = onEmpty;
    this.#timer = new SweepTimer(sweepIntervalMs(this.#timeoutMs), () => this.#sweep());
  }

  /** Deadlines pending now. */
  get size(): number {
    return this.#pending.size;
  }

  /** `onExpire` runs once, `timeoutMs` (plus at most one interval) from now, unless cancelled first. */
  start(onExpire: () => void): Deadline {
    const pending = new Pending(this.#pending, performance.now() + this.#timeoutMs, onExpire);
    this.#timer.start();
    return pending;
  }

  /** Whether any deadline is still pending (the timer stops when none is, and onEmpty is told). */
  #sweep(): boolean {
    if (this.#pending.size === 0) {
      this.#onEmpty();
      return false;
    }
    const now = performance.now();
    for (let first = this.#pending.first(); first !== undefined && first.at <= now; first = this.#pending.first()) first.expire();
    return true;
  }
}

/** One sweep per deadline length in use; a sweep that runs empty is dropped. */
const sweeps = new Map<number, DeadlineSweep>();

/** A deadline `timeoutMs` from now on the shared sweep for that length. */
export function startDeadline(timeoutMs: number, onExpire: () => void): Deadline {
  let sweep = sweeps.get(timeoutMs);
  if (sweep === undefined) {
    const created = new DeadlineSweep(timeoutMs, () => {
      if (sweeps.get(timeoutMs) === created) sweeps.delete(timeoutMs);
    });
    sweeps.set(timeoutMs, created);
    sweep = created;
  }
  return sweep.start(onExpire);
}

function nothing(): void {
  // No one to tell.
}
