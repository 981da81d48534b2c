import { setImmediate as nextTurn } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

/**
 * Work that can stop between bounded pieces: a generator that yields after each piece (up to about
 * a millisecond of it) and returns its result. The same code then runs all at once where a
 * caller needs the answer now (a configuration file read before listening: `finish`), or a slice
 * at a time beside the data plane (a policy sync of 100,000 domains: `pace`), so that one large
 * answer never holds every connection's next event for its whole length.
 */
export type Steps<T> = Generator<void, T, void>;

/** Entries handled between two yields by the loops that build from lists. */
export const ENTRIES_PER_STEP = 1024;

/** Runs `steps` to the end now. */
export function finish<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
  }
}

/**
 * Runs `steps` in slices of about `sliceMs` of the event loop, giving the loop a turn (I/O,
 * timers) between slices. `stop` ends the run early (the promise resolves `undefined`), so
 * abandoned work stops costing CPU at the next slice.
 */
export async function pace<T>(steps: Steps<T>, sliceMs = 5, stop?: AbortSignal): Promise<T | undefined> {
  let sliceStart = performance.now();
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
    if (performance.now() - sliceStart < sliceMs) continue;
    await nextTurn();
    if (stop?.aborted === true) return undefined;
    sliceStart = performance.now();
  }
}
