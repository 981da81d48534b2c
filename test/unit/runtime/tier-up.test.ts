import { describe, expect, it } from 'vitest';
import { TURBOFAN_INVOCATIONS, V8_11_INTERRUPT_BUDGET, tierUpFlag } from '../../../src/runtime/tier-up.js';

const FLAG = `--invocation-count-for-turbofan=${String(TURBOFAN_INVOCATIONS)}`;

describe('tierUpFlag', () => {
  it('lowers the TurboFan threshold on the V8 versions that count invocations (Node 22 to 25)', () => {
    expect(tierUpFlag('12.4.254.21-node.57', [], '')).toBe(FLAG);
    expect(tierUpFlag('13.6.233.17-node.40', [], '')).toBe(FLAG);
    expect(tierUpFlag('14.1.146.11-node.14', [], '')).toBe(FLAG);
  });

  it("lowers Node 20's bytecode budget instead (V8 11)", () => {
    expect(tierUpFlag('11.3.244.8-node.33', [], '')).toBe(`--interrupt-budget=${String(V8_11_INTERRUPT_BUDGET)}`);
    expect(tierUpFlag('11.3.244.8-node.33', ['--interrupt-budget=1000'], '')).toBeNull();
  });

  it('leaves other V8 versions alone: an unknown flag would be reported on stdout', () => {
    expect(tierUpFlag('10.2.154.26-node.36', [], '')).toBeNull();
    expect(tierUpFlag('15.0.1', [], '')).toBeNull();
    expect(tierUpFlag('', [], '')).toBeNull();
  });

  it("keeps the operator's own choice, from the arguments or NODE_OPTIONS", () => {
    expect(tierUpFlag('13.6.233.17-node.40', ['--invocation-count-for-turbofan=100'], '')).toBeNull();
    expect(tierUpFlag('13.6.233.17-node.40', [], '--max-old-space-size=512 --invocation-count-for-turbofan=9000')).toBeNull();
    expect(tierUpFlag('13.6.233.17-node.40', ['--max-old-space-size=512'], '--enable-source-maps')).toBe(FLAG);
  });
});
