import { describe, expect, it } from 'vitest';
import { DeadlineSweep, startDeadline } from '../../../src/net/deadline-sweep.js';
import { sweepIntervalMs } from '../../../src/net/sweep-timer.js';

// Deadlines of one length by one sweep (src/net/deadline-sweep.ts), on real timers: a deadline
// expires after its length and within one sweep interval of it, never before; cancel() stops it;
// deadlines expire in the order they were started; the timer stops once nothing is pending.

/** Resolves with the time (performance.now) at which the deadline expired. */
function expiry(start: (onExpire: () => void) => unknown): Promise<number> {
  return new Promise((resolve) => {
    start(() => {
      resolve(performance.now());
    });
  });
}

describe('DeadlineSweep', () => {
  it('expires after the timeout and within one sweep interval of it', async () => {
    const sweep = new DeadlineSweep(80);
    const started = performance.now();
    const at = await expiry((fire) => sweep.start(fire));
    expect(at - started).toBeGreaterThanOrEqual(80);
    // One interval (10 ms for 80 ms) plus scheduling slack on a loaded machine.
    expect(at - started).toBeLessThan(80 + sweepIntervalMs(80) + 200);
    expect(sweep.size).toBe(0);
  });

  it('never runs a cancelled deadline, and runs the rest in the order they started', async () => {
    const sweep = new DeadlineSweep(40);
    const order: string[] = [];
    const cancelled = sweep.start(() => order.push('cancelled'));
    sweep.start(() => order.push('first'));
    cancelled.cancel();
    const last = expiry((fire) =>
      sweep.start(() => {
        order.push('last');
        fire();
      }),
    );
    await last;
    expect(order).toEqual(['first', 'last']);
  });

  it('lets a deadline start another from its callback, which waits its own full length', async () => {
    const sweep = new DeadlineSweep(30);
    const first = await expiry((fire) => sweep.start(fire));
    const second = await expiry((fire) => sweep.start(fire));
    expect(second - first).toBeGreaterThanOrEqual(30);
  });

  it('stops its timer and says so once a sweep finds nothing pending', async () => {
    const emptied = new Promise<void>((resolve) => {
      const sweep = new DeadlineSweep(20, resolve);
      sweep.start(() => undefined).cancel();
    });
    await expect(emptied).resolves.toBeUndefined();
  });
});

describe('startDeadline', () => {
  it('expires deadlines of one length and of another, each after its own length', async () => {
    const started = performance.now();
    const [a, b] = await Promise.all([expiry((fire) => startDeadline(50, fire)), expiry((fire) => startDeadline(50, fire))]);
    expect(Math.min(a, b) - started).toBeGreaterThanOrEqual(50);
    const c = await expiry((fire) => startDeadline(25, fire));
    expect(c - started).toBeGreaterThanOrEqual(25);
  });
});
