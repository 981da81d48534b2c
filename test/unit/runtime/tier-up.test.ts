import { describe, expect, it } from 'vitest';
import { TURBOFAN_INVOCATIONS, V8_11_INTERRUPT_BUDGET, tierUpFlags } from '../../../src/runtime/tier-up.js';

const FLAG = `--invocation-count-for-turbofan=${String(TURBOFAN_INVOCATIONS)}`;
const BUDGET = `--interrupt-budget=${String(V8_11_INTERRUPT_BUDGET)}`;

describe('tierUpFlags', () => {
  it('lowers the TurboFan threshold on the V8 versions that count invocations (Node 22 to 25)', () => {
    expect(tierUpFlags('12.4.254.21-node.57', [], '')).toEqual([FLAG]);
    expect(tierUpFlags('13.6.233.17-node.40', [], '')).toEqual([FLAG]);
    expect(tierUpFlags('14.1.146.11-node.14', [], '')).toEqual([FLAG]);
  });

  it("lowers Node 20's bytecode budget instead (V8 11), and compiles every function with Sparkplug", () => {
    expect(tierUpFlags('11.3.244.8-node.33', [], '')).toEqual([BUDGET, '--always-sparkplug']);
  });

  it('leaves other V8 versions alone: an unknown flag would be reported on stdout', () => {
    expect(tierUpFlags('10.2.154.26-node.36', [], '')).toEqual([]);
    expect(tierUpFlags('15.0.1', [], '')).toEqual([]);
    expect(tierUpFlags('', [], '')).toEqual([]);
  });

  it("keeps the operator's own choice of each flag, from the arguments or NODE_OPTIONS", () => {
    expect(tierUpFlags('13.6.233.17-node.40', ['--invocation-count-for-turbofan=100'], '')).toEqual([]);
    expect(tierUpFlags('13.6.233.17-node.40', [], '--max-old-space-size=512 --invocation-count-for-turbofan=9000')).toEqual([]);
    expect(tierUpFlags('13.6.233.17-node.40', ['--max-old-space-size=512'], '--enable-source-maps')).toEqual([FLAG]);
    expect(tierUpFlags('11.3.244.8-node.33', ['--interrupt-budget=1000'], '')).toEqual(['--always-sparkplug']);
    expect(tierUpFlags('11.3.244.8-node.33', ['--no-sparkplug'], '')).toEqual([BUDGET]);
    expect(tierUpFlags('11.3.244.8-node.33', ['--always-sparkplug', '--interrupt-budget=9'], '')).toEqual([]);
  });
});
