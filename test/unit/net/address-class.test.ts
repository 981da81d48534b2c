import { describe, expect, it } from 'vitest';
import { classifyAddress, classifyEmbedded, classifyIp, type AddressCategory } from '../../../src/net/address-class.js';
import { embeddedIpv4 } from '../../../src/net/embedded-ipv4.js';
import { parseIp, parseIpv6 } from '../../../src/net/ip-address.js';

const cases: readonly (readonly [string, AddressCategory | null])[] = [
  // IPv4
  ['8.8.8.8', null],
  ['1.1.1.1', null],
  ['93.184.216.34', null],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', null],
  ['172.15.255.255', null],
  ['192.168.1.1', 'private'],
  ['169.254.1.1', 'link_local'],
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['100.64.0.1', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['100.128.0.1', null],
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['198.19.255.255', 'reserved'],
  ['198.20.0.1', null],
  ['198.51.100.7', 'reserved'],
  ['203.0.113.9', 'reserved'],
  ['192.88.99.1', 'reserved'],
  // IPv6
  ['2606:4700:4700::1111', null],
  ['2001:4860:4860::8888', null],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['fe80::1', 'link_local'],
  ['fe80::1%eth0', 'link_local'],
  ['febf::1', 'link_local'],
  ['fec0::1', 'reserved'],
  ['fc00::1', 'unique_local'],
  ['fd12:3456::1', 'unique_local'],
  ['fd00:ec2::254', 'metadata'],
  ['fd00:ec2::23', 'metadata'],
  ['ff02::1', 'multicast'],
  ['2001:db8::1', 'reserved'],
  ['3fff::1', 'reserved'],
  ['100::1', 'reserved'],
  ['64:ff9b:1::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['1::1', 'reserved'],
  // IPv4 embedded in IPv6: judged by the IPv4
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:8.8.8.8', null],
  ['::ffff:0:10.0.0.1', 'private'],
  ['::127.0.0.1', 'loopback'],
  ['::10.0.0.1', 'private'],
  ['::8.8.8.8', null],
  ['64:ff9b::a9fe:a9fe', 'metadata'],
  ['64:ff9b::192.168.0.1', 'private'],
  ['64:ff9b::8.8.8.8', null],
  ['2002:7f00:1::', 'loopback'],
  ['2002:a9fe:a9fe::1', 'metadata'],
  ['2002:808:808::1', null],
  ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'loopback'], // Teredo client 127.0.0.1 (inverted)
  ['2001:0:a00:1::1', 'private'], // Teredo server 10.0.0.1
  ['2001:0:4136:e378:8000:63bf:f7f7:f7f7', null], // Teredo client 8.8.8.8 via a public server
  // not IP addresses
  ['localhost', 'invalid'],
  ['2130706433', 'invalid'],
  ['0x7f.1', 'invalid'],
  ['', 'invalid'],
];

describe('classifyAddress', () => {
  it.each(cases)('%s → %s', (address, category) => {
    expect(classifyAddress(address)).toBe(category);
  });
});

describe('classifyIp', () => {
  it('names the embedded IPv4 that decided the category', () => {
    const parsed = parseIp('64:ff9b::a9fe:a9fe');
    expect(parsed && classifyIp(parsed)).toEqual({ category: 'metadata', via: { kind: 'nat64', ipv4: 0xa9fea9fe } });
  });

  it('has no embedded IPv4 for a plain address', () => {
    const parsed = parseIp('10.0.0.1');
    expect(parsed && classifyIp(parsed)).toEqual({ category: 'private' });
  });
});

describe('classifyEmbedded', () => {
  it('lists every non-public embedded IPv4 in order: both of a Teredo address', () => {
    const words = parseIpv6('2001:0:a00:1::80ff:fffe'); // server 10.0.0.1, client 127.0.0.1
    expect(words && classifyEmbedded(words)).toEqual([
      { category: 'private', via: { kind: 'teredo', ipv4: 0x0a000001 } },
      { category: 'loopback', via: { kind: 'teredo', ipv4: 0x7f000001 } },
    ]);
  });

  it.each([
    ['2001:0:808:808::5601:5601', [{ category: 'metadata', via: { kind: 'teredo', ipv4: 0xa9fea9fe } }]], // public server
    ['2001:0:808:808::f7f7:f7f7', []], // both public
    ['64:ff9b::a00:1', [{ category: 'private', via: { kind: 'nat64', ipv4: 0x0a000001 } }]],
    ['fd00::1', []], // no embedded IPv4
  ])('%s', (text, expected) => {
    const words = parseIpv6(text);
    expect(words && classifyEmbedded(words)).toEqual(expected);
  });
});

describe('embeddedIpv4', () => {
  it.each([
    ['::ffff:1.2.3.4', 'mapped', [0x01020304]],
    ['::ffff:0:1.2.3.4', 'translated', [0x01020304]],
    ['::1.2.3.4', 'compatible', [0x01020304]],
    ['64:ff9b::1.2.3.4', 'nat64', [0x01020304]],
    ['2002:102:304::', '6to4', [0x01020304]],
    ['2001:0:102:304::fefd:fcfb', 'teredo', [0x01020304, 0x01020304]],
  ])('%s carries %s IPv4', (text, kind, addresses) => {
    const words = parseIpv6(text);
    expect(words && embeddedIpv4(words)).toEqual({ kind, addresses });
  });

  it.each(['::', '::1', '2001:db8::1', '64:ff9b:0:1::1', 'fe80::1'])('%s carries none', (text) => {
    const words = parseIpv6(text);
    expect(words).toBeDefined();
    if (words !== undefined) expect(embeddedIpv4(words)).toBeUndefined();
  });
});
