/** A sweep runs this often relative to its timeout, within the bounds below. */
const SWEEPS_PER_TIMEOUT = 8;
const MIN_INTERVAL_MS = 10;
const MAX_INTERVAL_MS = 1_000;

/** How often a sweep for `timeoutMs` runs: an eighth of it, 10 ms to 1 s. */
export function sweepIntervalMs(timeoutMs: number): number {
  return Math.min(MAX_INTERVAL_MS, Math.max(MIN_INTERVAL_MS, Math.floor(timeoutMs / SWEEPS_PER_TIMEOUT)));
}

/**
 * The interval behind a sweep (idle-sweep.ts, deadline-sweep.ts): started when there is something to
 * sweep, stopped by the first tick that finds nothing (`sweep` returns false), and never keeping
 * the process alive.
 */
export class SweepTimer {
  readonly #intervalMs: number;
  readonly #sweep: () => boolean;
  #timer: NodeJS.Timeout | null = null;

  /** `sweep` runs every interval and returns whether anything is left to sweep. */
  constructor(intervalMs: number, sweep: () => boolean) {
    this.#intervalMs = intervalMs;
    this.#sweep = sweep;
  }

  /** Make sure the interval runs (something was added). */
  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => {
      if (!this.#sweep()) this.stop();
    }, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
