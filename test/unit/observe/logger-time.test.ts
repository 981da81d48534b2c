import { describe, expect, it } from 'vitest';
import { isoTimeCached } from '../../../src/observe/logger.js';

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
