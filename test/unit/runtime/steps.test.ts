import { describe, expect, it } from 'vitest';
import { finish, pace, type Steps } from '../../../src/runtime/steps.js';

/** Work of `pieces` pieces that records how many were pulled, returning their sum. */
function counted(pieces: number, pulled: { count: number }): Steps<number> {
  return (function* work(): Steps<number> {
    let sum = 0;
    for (let i = 1; i <= pieces; i++) {
      pulled.count += 1;
      sum += i;
      if (i < pieces) yield;
    }
    return sum;
  })();
}

describe('steps: work that yields between pieces', () => {
  it('finish runs every piece now and returns the result', () => {
    const pulled = { count: 0 };
    expect(finish(counted(10, pulled))).toBe(55);
    expect(pulled.count).toBe(10);
  });

  it('pace returns the same result, and gives the event loop a turn between slices', async () => {
    const pulled = { count: 0 };
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      turns += 1;
      if (ticking) setImmediate(tick);
    };
    setImmediate(tick);
    // A slice of 0 ms ends after every piece: 9 yields, each one a turn of the loop.
    const result = await pace(counted(10, pulled), 0);
    ticking = false;
    expect(result).toBe(55);
    expect(pulled.count).toBe(10);
    expect(turns).toBeGreaterThanOrEqual(9);
  });

  it('pace with a long slice finishes without giving a turn', async () => {
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    expect(await pace(counted(5, { count: 0 }), 60_000)).toBe(15);
    expect(turned).toBe(false);
  });

  it('a stop ends the run at the next slice: undefined, and no more pieces pulled', async () => {
    const pulled = { count: 0 };
    const stop = new AbortController();
    const run = pace(counted(100, pulled), 0, stop.signal);
    stop.abort();
    expect(await run).toBeUndefined();
    expect(pulled.count).toBe(1);
  });
});
