import { describe, expect, it } from 'vitest';
import { createKeyedRateGate } from '../../../src/observe/keyed-rate-gate.js';

describe('createKeyedRateGate', () => {
  it('opens once per interval for each key, counting what it held back per key', () => {
    let clock = 0;
    const gate = createKeyedRateGate(10_000, 16, () => clock);
    expect(gate.pass('a')).toEqual({ open: true, suppressed: 0 });
    expect(gate.pass('b')).toEqual({ open: true, suppressed: 0 });
    expect(gate.pass('a').open).toBe(false);
    expect(gate.pass('a').open).toBe(false);
    expect(gate.pass('b').open).toBe(false);
    clock = 9_999;
    expect(gate.pass('a').open).toBe(false);
    clock = 10_000;
    expect(gate.pass('a')).toEqual({ open: true, suppressed: 3 });
    expect(gate.pass('b')).toEqual({ open: true, suppressed: 1 });
  });

  it('remembers at most maxKeys keys, forgetting the least recently seen', () => {
    const gate = createKeyedRateGate(10_000, 3, () => 0);
    for (let i = 0; i < 1_000; i += 1) gate.pass(`destination-${i}`);
    expect(gate.size).toBe(3);
    // The three most recent are still held back; an older one was forgotten, so it opens again.
    expect(gate.pass('destination-999').open).toBe(false);
    expect(gate.pass('destination-0')).toEqual({ open: true, suppressed: 0 });
    expect(gate.size).toBe(3);
  });

  it('a key seen again is kept over keys seen less recently', () => {
    const gate = createKeyedRateGate(10_000, 2, () => 0);
    gate.pass('busy');
    gate.pass('quiet');
    gate.pass('busy');
    gate.pass('new');
    expect(gate.pass('busy').open).toBe(false);
    expect(gate.pass('quiet').open).toBe(true);
  });
});
