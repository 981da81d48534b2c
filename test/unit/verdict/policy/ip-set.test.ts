import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrContains } from '../../../../src/net/cidr.js';
import { embeddedIpv4 } from '../../../../src/net/embedded-ipv4.js';
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
/** IPv6 forms that carry an IPv4 other than the mapped one: NAT64, 6to4, translated, compatible, Teredo. */
const word = fc.nat(0xffffffff);
const embedding = fc.oneof(
  word.map((w) => formatIpv6([0x0064ff9b, 0, 0, w])),
  fc.tuple(word, fc.nat(0xffff), word, word).map(([w, low, w2, w3]) => formatIpv6([(0x20020000 | (w >>> 16)) >>> 0, (((w & 0xffff) << 16) | low) >>> 0, w2, w3])),
  word.map((w) => formatIpv6([0, 0, 0xffff0000, w])),
  fc.integer({ min: 2, max: 0xffffffff }).map((w) => formatIpv6([0, 0, 0, w])),
  fc.tuple(word, word, word).map(([server, flags, client]) => formatIpv6([0x20010000, server, flags, client])),
);
const address = fc.oneof(v4, v6, mapped, embedding);
const range = fc.oneof(
  fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, p]) => `${a}/${p}`),
  fc.tuple(fc.oneof(v6, mapped), fc.integer({ min: 0, max: 128 })).map(([a, p]) => `${a}/${p}`),
);

/** cidr.ts's answer for the address, or for any IPv4 it carries (NAT64, 6to4, Teredo server or client...). */
function expected(ranges: readonly string[], addresses: readonly string[]): boolean {
  return addresses.some((a) => {
    const ip = parseIp(a);
    const carried = ip?.family === 6 ? (embeddedIpv4(ip.words)?.addresses ?? []).map(formatIpv4) : [];
    return [a, ...carried].some((form) => ranges.some((r) => cidrContains(r, form)));
  });
}

function canonicalRanges(ranges: readonly string[]): string[] {
  return ranges.map((text) => {
    const [host = '', prefix = ''] = text.split('/');
    const ip = parseIp(host);
    return ip === undefined ? text : `${ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.words)}/${prefix}`;
  });
}

describe('ip rules: short (scanned) and long (bucketed) sets agree with src/net/cidr.ts, embedded IPv4s included', () => {
  it.each([
    ['scanned', 1, 16],
    ['bucketed', 17, 40],
  ])('%s: matches exactly when some range contains some candidate or an IPv4 it carries', (_, minLength, maxLength) => {
    fc.assert(
      fc.property(fc.array(range, { minLength, maxLength }), fc.array(address, { minLength: 1, maxLength: 3 }), (ranges, addresses) => {
        const canonical = canonicalRanges(ranges);
        expect(createIpSet(canonical).match(addresses.map(candidate)) !== undefined).toBe(expected(canonical, addresses));
      }),
      { numRuns: 300 },
    );
  });

  it('an IPv4 entry of a long list holds the NAT64, 6to4, translated, compatible and Teredo forms of its addresses', () => {
    const entries = [...Array.from({ length: 20 }, (_, i) => `198.51.100.${i}`), '10.0.0.0/8', '2001:db8::/32'];
    const set = createIpSet(entries);
    for (const text of ['64:ff9b::a01:203', '2002:a01:203::1', '::ffff:0:a01:203', '::a01:203', '2001:0:a01:203::ffff:ffff', '2001:0:808:808::f5fe:fdfc']) {
      expect(set.match([candidate('93.184.215.14'), candidate(text)]), text).toEqual({ entry: '10.0.0.0/8', address: text });
    }
    expect(set.match([candidate('64:ff9b::c633:6405')])).toEqual({ entry: '198.51.100.5', address: '64:ff9b::c633:6405' });
    // Another IPv4 inside, the local-use NAT64 prefix, loopback and the unspecified address.
    for (const text of ['64:ff9b::b01:203', '2002:b01:203::', '2001:0:808:808::f7ff:ffff', '64:ff9b:1::a01:203', '::1', '::']) {
      expect(set.match([candidate(text)]), text).toBeUndefined();
    }
  });

  it('an IPv6 entry holds that IPv6 only, and a mapped range holds the IPv4s (carried ones too) of its range', () => {
    const long = (extra: string): string[] => [...Array.from({ length: 20 }, (_, i) => `198.51.100.${i}`), extra];
    for (const set of [createIpSet(['64:ff9b::a01:203']), createIpSet(long('64:ff9b::a01:203'))]) {
      expect(set.match([candidate('10.1.2.3')])).toBeUndefined();
      expect(set.match([candidate('64:ff9b::a01:203')])).toEqual({ entry: '64:ff9b::a01:203', address: '64:ff9b::a01:203' });
    }
    for (const set of [createIpSet(['::ffff:10.0.0.0/104']), createIpSet(long('::ffff:10.0.0.0/104'))]) {
      expect(set.match([candidate('2002:a01:203::')])).toEqual({ entry: '::ffff:10.0.0.0/104', address: '2002:a01:203::' });
      expect(set.match([candidate('10.9.9.9')])).toEqual({ entry: '::ffff:10.0.0.0/104', address: '10.9.9.9' });
      expect(set.match([candidate('11.0.0.1')])).toBeUndefined();
    }
  });

  it('names the entry and the address that matched, in a long list', () => {
    const entries = [...Array.from({ length: 40 }, (_, i) => `10.${i}.0.0/16`), '2001:db8::/32'];
    expect(createIpSet(entries).match([candidate('93.184.215.14'), candidate('::ffff:10.7.1.2')])).toEqual({ entry: '10.7.0.0/16', address: '::ffff:10.7.1.2' });
    expect(createIpSet(entries).match([candidate('2001:db8::5')])).toEqual({ entry: '2001:db8::/32', address: '2001:db8::5' });
    expect(createIpSet(entries).match([candidate('11.0.0.1')])).toBeUndefined();
  });
});
