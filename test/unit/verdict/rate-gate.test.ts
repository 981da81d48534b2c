import { describe, expect, it } from 'vitest';
import { createRateGate } from '../../../src/verdict/rate-gate.js';

describe('createRateGate', () => {
  it('opens once per interval and counts what it held back', () => {
    let clock = 0;
    const gate = createRateGate(60_000, () => clock);
    expect(gate.pass()).toEqual({ open: true, suppressed: 0 });
    clock = 59_999;
    expect(gate.pass().open).toBe(false);
    expect(gate.pass().open).toBe(false);
    clock = 60_000;
    expect(gate.pass()).toEqual({ open: true, suppressed: 2 });
  });
});
