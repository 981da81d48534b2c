import { describe, expect, it } from 'vitest';
import { forwardRequestHeaders } from '../../../src/proxy/hop-by-hop.js';
import { decrementedMaxForwards, isLastHop } from '../../../src/proxy/max-forwards.js';

describe('Max-Forwards', () => {
  it('goes one less when it is a count, as sent otherwise', () => {
    expect(decrementedMaxForwards('3')).toBe('2');
    expect(decrementedMaxForwards(' 010 ')).toBe('9');
    expect(decrementedMaxForwards('99999999999999999999')).toBe('99999999999999999998');
    expect(decrementedMaxForwards('many')).toBe('many');
    expect(decrementedMaxForwards('-1')).toBe('-1');
  });

  it('makes the proxy the last hop only for a first count of 0 on TRACE or OPTIONS', () => {
    expect(isLastHop('TRACE', ['Max-Forwards', '0'])).toBe(true);
    expect(isLastHop('OPTIONS', ['max-forwards', '00'])).toBe(true);
    expect(isLastHop('OPTIONS', ['Max-Forwards', '1', 'Max-Forwards', '0'])).toBe(false);
    expect(isLastHop('GET', ['Max-Forwards', '0'])).toBe(false);
    expect(isLastHop('OPTIONS', ['Max-Forwards', 'zero'])).toBe(false);
    expect(isLastHop('OPTIONS', [])).toBe(false);
  });

  it('is decremented in forwarded TRACE and OPTIONS heads only', () => {
    const raw = ['Max-Forwards', '5', 'Accept', '*/*'];
    expect(forwardRequestHeaders(raw, { host: 'a.test', chunked: false, method: 'OPTIONS' })).toEqual(['Host', 'a.test', 'Max-Forwards', '4', 'Accept', '*/*']);
    expect(forwardRequestHeaders(raw, { host: 'a.test', chunked: false, method: 'GET' })).toEqual(['Host', 'a.test', 'Max-Forwards', '5', 'Accept', '*/*']);
    expect(forwardRequestHeaders(raw, { host: 'a.test', chunked: false })).toEqual(['Host', 'a.test', 'Max-Forwards', '5', 'Accept', '*/*']);
  });

  it('forwards only the first Max-Forwards of TRACE and OPTIONS, the one the last-hop check read', () => {
    const raw = ['Max-Forwards', '3', 'Accept', '*/*', 'max-forwards', '0', 'MAX-FORWARDS', 'many'];
    expect(forwardRequestHeaders(raw, { host: 'a.test', chunked: false, method: 'TRACE' })).toEqual(['Host', 'a.test', 'Max-Forwards', '2', 'Accept', '*/*']);
    expect(forwardRequestHeaders(['Max-Forwards', 'many', 'Max-Forwards', '4'], { host: 'a.test', chunked: false, method: 'OPTIONS' })).toEqual(['Host', 'a.test', 'Max-Forwards', 'many']);
    // Other methods carry every field unchanged.
    expect(forwardRequestHeaders(raw, { host: 'a.test', chunked: false, method: 'GET' })).toEqual(['Host', 'a.test', ...raw]);
  });
});
