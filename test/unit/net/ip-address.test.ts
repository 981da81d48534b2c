import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, formatIpv4, formatIpv6, parseIp, parseIpv4, parseIpv6 } from '../../../src/net/ip-address.js';

describe('parseIpv4 (strict dotted quad)', () => {
  it.each([
    ['0.0.0.0', 0],
    ['127.0.0.1', 0x7f000001],
    ['255.255.255.255', 0xffffffff],
    ['192.0.2.10', 0xc000020a],
  ])('accepts %s', (text, value) => {
    expect(parseIpv4(text)).toBe(value);
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1.2.3.04', '1..2.3', '.1.2.3', '1.2.3.', '0x7f.0.0.1', '2130706433', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.a'])(
    'refuses %j',
    (text) => {
      expect(parseIpv4(text)).toBeUndefined();
    },
  );
});

describe('parseIpv6', () => {
  it.each([
    ['::', [0, 0, 0, 0]],
    ['::1', [0, 0, 0, 1]],
    ['1::', [0x00010000, 0, 0, 0]],
    ['2001:DB8::1', [0x20010db8, 0, 0, 1]],
    ['::ffff:127.0.0.1', [0, 0, 0xffff, 0x7f000001]],
    ['1:2:3:4:5:6:7:8', [0x00010002, 0x00030004, 0x00050006, 0x00070008]],
    ['1:2:3:4:5:6:7::', [0x00010002, 0x00030004, 0x00050006, 0x00070000]],
    ['1:2:3:4:5:6:1.2.3.4', [0x00010002, 0x00030004, 0x00050006, 0x01020304]],
    ['0001:0002::0003', [0x00010002, 0, 0, 3]],
  ])('parses %s', (text, words) => {
    expect(parseIpv6(text)).toEqual(words);
  });

  it.each(['', ':', ':::', '1::2::3', ':1::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '00000::1', 'g::1', '1:', '::1:', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3', '::01.2.3.4', '[::1]', '::1 '])(
    'refuses %j',
    (text) => {
      expect(parseIpv6(text)).toBeUndefined();
    },
  );

  it('drops a zone only when allowed', () => {
    expect(parseIpv6('fe80::1%eth0')).toBeUndefined();
    expect(parseIpv6('fe80::1%eth0', true)).toEqual([0xfe800000, 0, 0, 1]);
    expect(parseIpv6('fe80::1%', true)).toBeUndefined();
  });

  it('agrees with node:net isIP on arbitrary IPv6-like text', () => {
    const alphabet = fc.constantFrom(...'0123456789abcdefABCDEF:.'.split(''));
    fc.assert(
      fc.property(fc.string({ unit: alphabet, maxLength: 45 }), (text) => {
        expect(parseIpv6(text) !== undefined).toBe(isIP(text) === 6);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with node:net isIP on generated valid addresses, and round-trips through the formatter', () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const words = parseIpv6(text);
        expect(words).toBeDefined();
        if (words === undefined) return;
        const formatted = formatIpv6(words);
        expect(isIP(formatted)).toBe(6);
        expect(parseIpv6(formatted)).toEqual(words);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('formatting', () => {
  it.each([
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:0DB8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['::ffff:7f00:1', '::ffff:127.0.0.1'],
    ['::FFFF:127.0.0.1', '::ffff:127.0.0.1'],
    ['::127.0.0.1', '::7f00:1'],
    ['fe80::', 'fe80::'],
  ])('formats %s as %s (RFC 5952)', (text, canonical) => {
    const words = parseIpv6(text);
    expect(words).toBeDefined();
    if (words !== undefined) expect(formatIpv6(words)).toBe(canonical);
  });

  it('formats IPv4 and either family', () => {
    expect(formatIpv4(0x7f000001)).toBe('127.0.0.1');
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    const v4 = parseIp('10.1.2.3');
    const v6 = parseIp('FE80::1%eth0');
    expect(v4 && formatIp(v4)).toBe('10.1.2.3');
    expect(v6 && formatIp(v6)).toBe('fe80::1');
    expect(parseIp('localhost')).toBeUndefined();
  });
});
