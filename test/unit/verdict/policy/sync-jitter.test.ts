import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jitteredInterval } from '../../../../src/verdict/policy/sync-jitter.js';

describe('jitteredInterval', () => {
  it('maps a draw in [0, 1) onto 90% to 100% of the interval, in whole milliseconds', () => {
    expect(jitteredInterval(60_000, 0)).toBe(54_000);
    expect(jitteredInterval(60_000, 0.25)).toBe(55_500);
    expect(jitteredInterval(60_000, 0.5)).toBe(57_000);
    expect(jitteredInterval(60_000, 0.9999)).toBe(59_999);
    expect(jitteredInterval(1_000, 0.123)).toBe(912);
  });

  it('never goes beyond the interval or below 90% of it, whatever the draw', () => {
    expect(jitteredInterval(60_000, -1)).toBe(54_000);
    expect(jitteredInterval(60_000, 1)).toBe(60_000);
    expect(jitteredInterval(60_000, 7)).toBe(60_000);
    fc.assert(
      fc.property(fc.integer({ min: 1_000, max: 86_400_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (interval, draw) => {
        const wait = jitteredInterval(interval, draw);
        expect(Number.isInteger(wait)).toBe(true);
        expect(wait).toBeGreaterThanOrEqual(Math.floor(interval * 0.9));
        expect(wait).toBeLessThanOrEqual(interval);
      }),
    );
  });

  it('spreads the waits of syncs that start together over the whole range', () => {
    const waits = new Set(Array.from({ length: 1_000 }, () => jitteredInterval(60_000, Math.random())));
    // 1,000 draws over 6,000 possible waits: all alike would mean no jitter at all.
    expect(waits.size).toBeGreaterThan(100);
  });
});
