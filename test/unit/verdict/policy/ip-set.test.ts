import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContains } from '../../../../src/net/cidr.js';
import { formatIpv4, formatIpv6, parseIp } from '../../../../src/net/ip-address.js';
import { createIpSet, type Candidate } from '../../../../src/verdict/policy/ip-set.js';

const candidate = (text: string): Candidate => {
  const ip = parseIp(text);
  if (ip === undefined) throw new Error(text);
  return { text, ip };
};

const v4 = fc.integer({ min: 0, max: 0xffffffff }).map(formatIpv4);
const v6 = fc.tuple(fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff), fc.nat(0xffffffff)).map((w) => formatIpv6(w));
const mapped = fc.integer({ min: 0, max: 0xffffffff }).map((value) => `::ffff:${formatIpv4(value)}`);
const address = fc.oneof(v4, v6, mapped);
const range = fc.oneof(
  fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(fc.oneof(v6, mapped), fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`),
);

describe('ip rules: the bucketed set for long lists agrees with src/net/cidr.ts', () => {
  it('matches exactly when some range contains some candidate (mapped IPv6 included)', () => {
    fc.assert(
      fc.property(fc.array(range, { minLength: 17, maxLength: 40 }), fc.array(address, { minLength: 1, maxLength: 3 }), (ranges, addresses) => {
        const canonical = ranges.map((text) => {
          const [host = '', prefix = ''] = text.split('/');
          const ip = parseIp(host);
          return ip === undefined ? text : `${ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.words)}/${prefix}`;
        });
        const expected = addresses.some((a) => canonical.some((r) => cidrContains(r, a)));
        expect(createIpSet(canonical).match(addresses.map(candidate)) !== undefined).toBe(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('names the entry and the address that matched, in a long list', () => {
    const entries = [...Array.from({ length: 40 }, (_, i) => `10.${i}.0.0/16`), '2001:db8::/32'];
    expect(createIpSet(entries).match([candidate('93.184.215.14'), candidate('::ffff:10.7.1.2')])).toEqual({ entry: '10.7.0.0/16', address: '::ffff:10.7.1.2' });
    expect(createIpSet(entries).match([candidate('2001:db8::5')])).toEqual({ entry: '2001:db8::/32', address: '2001:db8::5' });
    expect(createIpSet(entries).match([candidate('11.0.0.1')])).toBeUndefined();
  });
});
