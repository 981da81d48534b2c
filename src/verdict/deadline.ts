import { performance } from 'node:perf_hooks';

/** One hard deadline for a whole exchange (its retry included): an abort signal and the time left. */
export interface Deadline {
  readonly signal: AbortSignal;
  remaining(): number;
  dispose(): void;
}

export function startDeadline(ms: number): Deadline {
  const controller = new AbortController();
  const started = performance.now();
  const timer = setTimeout(() => {
    controller.abort();
  }, ms);
  timer.unref();
  return {
    signal: controller.signal,
    remaining: () => Math.max(0, ms - (performance.now() - started)),
    dispose: () => {
      clearTimeout(timer);
    },
  };
}
