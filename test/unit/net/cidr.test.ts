import { describe, expect, it } from 'vitest';
import { cidrContains, compileCidr, formatCidr, parseCidr } from '../../../src/net/cidr.js';
import { parseIp } from '../../../src/net/ip-address.js';

describe('parseCidr', () => {
  it.each([
    ['10.0.0.0/8', { family: 4, address: '10.0.0.0', prefix: 8 }],
    ['1.2.3.4', { family: 4, address: '1.2.3.4', prefix: 32 }],
    ['FD00::/8', { family: 6, address: 'fd00::', prefix: 8 }],
  ])('parses %s', (text, cidr) => {
    expect(parseCidr(text)).toEqual(cidr);
  });

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', 'example.com/8', ''])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });

  it('formats', () => {
    expect(formatCidr({ family: 6, address: 'fd00::', prefix: 8 })).toBe('fd00::/8');
  });
});

describe('cidrContains', () => {
  it.each([
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.1.2.3/8', '10.9.9.9', true], // host bits in the range are ignored
    ['172.16.0.0/12', '172.31.0.1', true],
    ['172.16.0.0/12', '172.32.0.1', false],
    ['0.0.0.0/0', '203.0.113.1', true],
    ['192.168.1.5', '192.168.1.5', true],
    ['192.168.1.5', '192.168.1.6', false],
    ['fd00::/8', 'fd12::1', true],
    ['fd00::/8', 'fc00::1', false],
    ['fe80::/10', 'fe80::1%eth0', true],
    ['2001:db8::/127', '2001:db8::1', true],
    ['2001:db8::/127', '2001:db8::2', false],
    ['::/0', '2001:db8::2', true],
    // IPv4-mapped IPv6 is the same host as the IPv4 address, both ways
    ['127.0.0.0/8', '::ffff:127.0.0.1', true],
    ['10.0.0.0/8', '::ffff:192.168.0.1', false],
    ['::ffff:10.0.0.0/104', '10.2.3.4', true],
    ['::ffff:10.0.0.0/104', '11.2.3.4', false],
    // other families never match
    ['10.0.0.0/8', '::a00:1', false],
    ['fd00::/8', '10.0.0.1', false],
    // An IPv4 address is in an IPv6 range only when the range is all IPv4-mapped (inside
    // ::ffff:0:0/96): ::/0, ::/64 or ::/80 name IPv6 hosts, not every IPv4 one.
    ['::/0', '10.0.0.1', false],
    ['::/64', '169.254.169.254', false],
    ['::/80', '127.0.0.1', false],
    ['::ffff:0:0/95', '10.0.0.1', false],
    ['::ffff:0:0/96', '10.0.0.1', true],
    ['::ffff:127.0.0.1', '127.0.0.1', true],
    ['::ffff:0:a00:0/104', '10.0.0.1', false], // IPv4-translated, not mapped
    // An IPv6 address is matched as itself: ::/0 holds ::ffff:10.0.0.1 (the guard reads the IPv4 out)
    ['::/0', '::ffff:10.0.0.1', true],
    // malformed input never matches
    ['10.0.0.0/8', 'not-an-ip', false],
    ['bogus', '10.0.0.1', false],
  ])('%s contains %s: %s', (cidr, address, expected) => {
    expect(cidrContains(cidr, address)).toBe(expected);
  });

  it('takes an already parsed Cidr', () => {
    const cidr = parseCidr('100.64.0.0/10');
    expect(cidr).toBeDefined();
    if (cidr === undefined) return;
    expect(cidrContains(cidr, '100.100.0.1')).toBe(true);
    const matcher = compileCidr(cidr);
    const inside = parseIp('100.127.255.255');
    const outside = parseIp('100.128.0.0');
    expect(inside && matcher.contains(inside)).toBe(true);
    expect(outside && matcher.contains(outside)).toBe(false);
  });
});
