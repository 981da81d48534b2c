import { describe, expect, it } from 'vitest';
import { pretenuringFlag } from '../../../src/runtime/pretenuring.js';

describe('pretenuringFlag', () => {
  it('turns allocation-site pretenuring off on the V8 versions known to have the flag (Node 20 to 25)', () => {
    expect(pretenuringFlag('11.3.244.8-node.33', [], '')).toBe('--no-allocation-site-pretenuring');
    expect(pretenuringFlag('12.4.254.21-node.57', [], '')).toBe('--no-allocation-site-pretenuring');
    expect(pretenuringFlag('13.6.233.17-node.40', [], '')).toBe('--no-allocation-site-pretenuring');
    expect(pretenuringFlag('14.1.146.11-node.14', [], '')).toBe('--no-allocation-site-pretenuring');
  });

  it('leaves other V8 versions alone: an unknown flag would be reported on stdout', () => {
    expect(pretenuringFlag('10.2.154.26-node.36', [], '')).toBeNull();
    expect(pretenuringFlag('15.0.1', [], '')).toBeNull();
    expect(pretenuringFlag('', [], '')).toBeNull();
  });

  it("keeps the operator's choice either way, from the arguments or NODE_OPTIONS", () => {
    expect(pretenuringFlag('13.6.233.17-node.40', ['--allocation-site-pretenuring'], '')).toBeNull();
    expect(pretenuringFlag('13.6.233.17-node.40', [], '--no-allocation-site-pretenuring')).toBeNull();
    expect(pretenuringFlag('11.3.244.8-node.33', ['--max-old-space-size=512'], '--enable-source-maps')).toBe('--no-allocation-site-pretenuring');
  });
});
