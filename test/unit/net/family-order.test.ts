import { describe, expect, it } from 'vitest';
import { createFamilyOrder } from '../../../src/net/family-order.js';

const V4 = ['192.0.2.1', '192.0.2.2'];
const V6 = ['2001:db8::2', '2001:db8::1'];

describe('family order', () => {
  it('puts IPv4 first when the host has no global IPv6 address (only loopback, link-local, unique local)', () => {
    const order = createFamilyOrder({ interfaceAddresses: () => ['127.0.0.1', '::1', 'fe80::1%eth0', 'fd00::2', '10.0.0.2'] });
    expect(order(V4, V6)).toEqual([...V4, ...V6]);
  });

  it('puts IPv6 first when the host has a global IPv6 address; each family keeps the resolver order', () => {
    const order = createFamilyOrder({ interfaceAddresses: () => ['10.0.0.2', '2a01:4f8::10'] });
    expect(order(V4, V6)).toEqual([...V6, ...V4]);
  });

  it('lists the host addresses again after a second, not before', () => {
    let clock = 0;
    let own = ['10.0.0.2'];
    const order = createFamilyOrder({ interfaceAddresses: () => own, now: () => clock });
    expect(order(V4, V6)[0]).toBe(V4[0]);
    own = ['2a01:4f8::10'];
    clock += 999;
    expect(order(V4, V6)[0]).toBe(V4[0]);
    clock += 1;
    expect(order(V4, V6)[0]).toBe(V6[0]);
  });

  it('one family alone is as it came', () => {
    const order = createFamilyOrder({ interfaceAddresses: () => ['2a01:4f8::10'] });
    expect(order(V4, [])).toEqual(V4);
    expect(order([], V6)).toEqual(V6);
  });
});
