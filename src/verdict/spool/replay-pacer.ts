import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Spaces replays evenly at `ratePerSecond` (no bursts: a backlog of thousands must not arrive at
 * the control plane at once, beside live verdicts). `take` resolves when the next one may go, or
 * rejects when `signal` aborts.
 */
export interface ReplayPacer {
  take(signal: AbortSignal): Promise<void>;
}

export function createReplayPacer(ratePerSecond: number, now: () => number = () => performance.now()): ReplayPacer {
  const spacing = 1000 / ratePerSecond;
  let next = Number.NEGATIVE_INFINITY;
  return {
    async take(signal) {
      const at = now();
      const slot = Math.max(at, next);
      next = slot + spacing;
      if (slot > at) await sleep(slot - at, undefined, { signal });
    },
  };
}
