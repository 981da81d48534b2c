/**
 * How long the replayer waits after the control plane failed a replay before probing again with
 * the oldest entry: doubling from `minMs` to `maxMs`, back to `minMs` after a success. A live
 * verdict that succeeds cuts the wait short (the replayer is kicked).
 */
export interface ReplayBackoff {
  /** The wait before the next probe, and longer next time. */
  next(): number;
  reset(): void;
}

export function createReplayBackoff(minMs: number, maxMs: number): ReplayBackoff {
  let current = minMs;
  return {
    next() {
      const wait = current;
      current = Math.min(maxMs, current * 2);
      return wait;
    },
    reset() {
      current = minMs;
    },
  };
}
