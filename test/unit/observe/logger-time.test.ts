import { describe, expect, it } from 'vitest';
import { isoTimeAt, isoTimeCached } from '../../../src/observe/logger.js';

describe('log line timestamps', () => {
  it('are pino isoTime fragments for the current millisecond', () => {
    const before = Date.now();
    const fragment = isoTimeCached();
    const after = Date.now();
    expect(fragment).toMatch(/^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
    const parsed = JSON.parse(`{${fragment.slice(1)}}`) as { time: string };
    const ms = Date.parse(parsed.time);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('move on when the millisecond does', () => {
    const first = isoTimeCached();
    const started = Date.now();
    while (Date.now() === started) {
      // spin into the next millisecond (no timers: this is about the clock, not readiness)
    }
    expect(isoTimeCached()).not.toBe(first);
  });
});

describe('isoTimeAt', () => {
  const expected = (ms: number): string => `,"time":"${new Date(ms).toISOString()}"`;

  it('matches toISOString on every millisecond around second, day and year boundaries', () => {
    for (const edge of [Date.UTC(2026, 10, 29, 23, 59, 59), Date.UTC(2026, 11, 31, 23, 59, 59), Date.UTC(2028, 1, 28, 23, 59, 59), 0]) {
      for (let ms = edge - 1500; ms < edge + 2500; ms++) expect(isoTimeAt(ms)).toBe(expected(ms));
    }
  });

  it('matches toISOString for random times, in and out of order', () => {
    let seed = 12345;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 20_000; i++) {
      const ms = (next() % 4_000_000) * 1_000 + (next() % 1000);
      expect(isoTimeAt(ms)).toBe(expected(ms));
    }
  });
});
