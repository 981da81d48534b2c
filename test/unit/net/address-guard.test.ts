import { describe, expect, it } from 'vitest';
import { createAddressGuard, type GuardResult } from '../../../src/net/address-guard.js';

function category(result: GuardResult): string {
  return result.ok ? 'allowed' : result.category;
}

describe('address guard: categories', () => {
  const guard = createAddressGuard({ allowPrivate: [], interfaceAddresses: () => [] });

  it.each([
    ['8.8.8.8', 'allowed'],
    ['2606:4700:4700::1111', 'allowed'],
    ['::ffff:8.8.8.8', 'allowed'],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['192.168.0.10', 'private'],
    ['169.254.169.254', 'metadata'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['169.254.10.10', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['100.64.1.1', 'cgnat'],
    ['fd00::1', 'unique_local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.251', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.1.1.1', 'reserved'],
    ['not-an-address', 'invalid'],
    ['2130706433', 'invalid'],
  ])('%s → %s', (address, expected) => {
    expect(category(guard.check(address, 443))).toBe(expected);
  });

  it('explains a refusal with the canonical address', () => {
    expect(guard.check('169.254.169.254', 80)).toEqual({
      ok: false,
      category: 'metadata',
      address: '169.254.169.254',
      reason: 'destination 169.254.169.254 is a cloud metadata address',
    });
    expect(guard.check('::FFFF:7f00:1', 80)).toEqual({
      ok: false,
      category: 'loopback',
      address: '::ffff:127.0.0.1',
      reason: 'destination ::ffff:127.0.0.1 is a loopback address',
    });
    const nat64 = guard.check('64:ff9b::a00:1', 80);
    expect(nat64.ok ? '' : nat64.reason).toBe('destination 64:ff9b::a00:1 is a private network address (embedded IPv4 10.0.0.1)');
  });

  it.each([0, -1, 65536, 1.5, Number.NaN])('refuses port %s', (port) => {
    expect(category(guard.check('8.8.8.8', port))).toBe('invalid');
  });
});

describe('address guard: allow_private', () => {
  const guard = createAddressGuard({ allowPrivate: ['10.0.0.0/8', 'fd00::/8', '169.254.169.254/32'], interfaceAddresses: () => [] });

  it.each([
    ['10.9.8.7', 'allowed'],
    ['::ffff:10.9.8.7', 'allowed'], // IPv4-mapped matches the IPv4 range
    ['64:ff9b::a09:807', 'allowed'], // NAT64 to an opened IPv4
    ['2002:a09:807::1', 'allowed'], // 6to4 to an opened IPv4
    ['fd12::1', 'allowed'],
    ['169.254.169.254', 'allowed'], // opened explicitly
    ['169.254.169.253', 'link_local'], // the rest of link-local is not
    ['11.0.0.1', 'allowed'], // public anyway
    ['192.168.1.1', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['fc00::1', 'unique_local'],
  ])('%s → %s', (address, expected) => {
    expect(category(guard.check(address, 443))).toBe(expected);
  });

  it('opens a Teredo address only when each non-public IPv4 it carries (server, then client) is opened', () => {
    for (const [address, expected] of [
      ['2001:0:a00:1::80ff:fffe', 'loopback'], // server 10.0.0.1, client 127.0.0.1
      ['2001:0:a00:1::5601:fefe', 'link_local'], // server 10.0.0.1, client 169.254.1.1
      ['2001:0:c0a8:101::f5f6:f7f8', 'private'], // server 192.168.1.1, client 10.9.8.7
      ['2001:0:a00:1::f5f6:f7f8', 'allowed'], // client 10.9.8.7
      ['2001:0:a00:1::5601:5601', 'allowed'], // client 169.254.169.254, opened explicitly
      ['2001:0:a00:1::f7f7:f7f7', 'allowed'], // client 8.8.8.8, public
    ] as const) {
      expect(category(guard.check(address, 443)), address).toBe(expected);
    }
  });

  it('names the embedded IPv4 that is not opened, not the first one embedded', () => {
    const client = guard.check('2001:0:a00:1::80ff:fffe', 80);
    expect(client.ok ? '' : client.reason).toBe('destination 2001:0:a00:1::80ff:fffe is a loopback address (embedded IPv4 127.0.0.1)');
    const server = guard.check('2001:0:c0a8:101::f5f6:f7f8', 80);
    expect(server.ok ? '' : server.reason).toBe('destination 2001:0:c0a8:101::f5f6:f7f8 is a private network address (embedded IPv4 192.168.1.1)');
  });

  it('an IPv6 range opens IPv6 destinations, never an IPv4 one nor the IPv4 an IPv6 address carries', () => {
    const wide = createAddressGuard({ allowPrivate: ['::/0'], interfaceAddresses: () => [] });
    for (const [address, expected] of [
      ['::1', 'allowed'],
      ['fd00::1', 'allowed'],
      ['fe80::1%eth0', 'allowed'],
      ['fd00:ec2::254', 'allowed'], // AWS IMDS over IPv6 is an IPv6 destination: ::/0 opens it
      ['127.0.0.1', 'loopback'],
      ['10.0.0.1', 'private'],
      ['169.254.169.254', 'metadata'],
      ['::ffff:127.0.0.1', 'loopback'], // mapped: the same host as 127.0.0.1
      ['::ffff:169.254.169.254', 'metadata'],
      ['64:ff9b::a00:1', 'private'], // NAT64 to 10.0.0.1
      ['2002:a9fe:a9fe::1', 'metadata'], // 6to4 to 169.254.169.254
      ['::ffff:0:7f00:1', 'loopback'], // IPv4-translated
      ['::7f00:1', 'loopback'], // IPv4-compatible
      ['2001:0:a00:1::80ff:fffe', 'private'], // Teredo: server 10.0.0.1, client 127.0.0.1
    ] as const) {
      expect(category(wide.check(address, 443)), address).toBe(expected);
    }
    for (const range of ['::/64', '::/80', '64:ff9b::/96', '2002::/16', '2001::/32']) {
      const guard = createAddressGuard({ allowPrivate: [range], interfaceAddresses: () => [] });
      for (const [address, expected] of [
        ['10.0.0.1', 'private'],
        ['64:ff9b::a00:1', 'private'],
        ['2002:a00:1::1', 'private'],
        ['2001:0:a00:1::f5f6:f7f8', 'private'],
      ] as const) {
        expect(category(guard.check(address, 443)), `${range} ${address}`).toBe(expected);
      }
    }
  });

  it('an IPv4-mapped range (inside ::ffff:0:0/96) opens those IPv4s in every spelling', () => {
    const mapped = createAddressGuard({ allowPrivate: ['::ffff:10.0.0.0/104'], interfaceAddresses: () => [] });
    for (const [address, expected] of [
      ['10.1.2.3', 'allowed'],
      ['::ffff:10.1.2.3', 'allowed'],
      ['64:ff9b::a01:203', 'allowed'],
      ['11.0.0.1', 'allowed'], // public anyway
      ['127.0.0.1', 'loopback'],
      ['::1', 'loopback'],
    ] as const) {
      expect(category(mapped.check(address, 443)), address).toBe(expected);
    }
  });

  it('refuses to start with a malformed range', () => {
    expect(() => createAddressGuard({ allowPrivate: ['10.0.0.0/33'] })).toThrow(/allow_private/);
  });
});

describe('address guard: checkAll', () => {
  const guard = createAddressGuard({ allowPrivate: [], interfaceAddresses: () => [] });

  it('allows when every address is allowed', () => {
    expect(guard.checkAll(['8.8.8.8', '2606:4700:4700::1111'], 443)).toEqual({ ok: true });
  });

  it('refuses when any address is refused (DNS rebinding with a mixed answer)', () => {
    const result = guard.checkAll(['8.8.8.8', '169.254.169.254', '10.0.0.1'], 443);
    expect(result.ok ? '' : `${result.category} ${result.address}`).toBe('metadata 169.254.169.254');
  });

  it('refuses an empty list', () => {
    expect(category(guard.checkAll([], 443))).toBe('invalid');
  });
});

describe('address guard: own listeners', () => {
  it('always refuses the listener address, even inside an opened range, in every spelling', () => {
    const guard = createAddressGuard({ allowPrivate: ['127.0.0.0/8', '::1/128'], interfaceAddresses: () => [] });
    guard.setOwnListeners([{ address: '127.0.0.1', port: 8080 }]);
    expect(category(guard.check('127.0.0.1', 8080))).toBe('own_listener');
    expect(category(guard.check('::ffff:127.0.0.1', 8080))).toBe('own_listener');
    expect(category(guard.check('::ffff:7f00:1', 8080))).toBe('own_listener');
    expect(category(guard.check('127.0.0.1', 8081))).toBe('allowed');
    expect(category(guard.check('127.0.0.2', 8080))).toBe('allowed');
    const refusal = guard.check('127.0.0.1', 8080);
    expect(refusal.ok ? '' : refusal.reason).toBe('destination 127.0.0.1 port 8080 is the proxy itself');
  });

  it('refuses a public listener address that no category would refuse', () => {
    const guard = createAddressGuard({ allowPrivate: [], interfaceAddresses: () => [] });
    guard.setOwnListeners([{ address: '203.0.114.7', port: 3128 }]);
    expect(category(guard.check('203.0.114.7', 3128))).toBe('own_listener');
    expect(category(guard.check('203.0.114.7', 443))).toBe('allowed');
  });

  it('treats a wildcard listener as every interface address plus loopback at its port', () => {
    const guard = createAddressGuard({
      allowPrivate: ['0.0.0.0/0', '::/0'],
      interfaceAddresses: () => ['127.0.0.1', '10.0.0.5', '203.0.114.7', 'fe80::1', '2001:4860::5'],
    });
    guard.setOwnListeners([{ address: '0.0.0.0', port: 8080 }]);
    for (const address of ['10.0.0.5', '203.0.114.7', '::ffff:10.0.0.5', '127.0.0.1', '127.9.9.9', '::1', '0.0.0.0', '::', '2001:4860::5', 'fe80::1%eth0']) {
      expect(category(guard.check(address, 8080)), address).toBe('own_listener');
    }
    expect(category(guard.check('10.0.0.6', 8080))).toBe('allowed');
    expect(category(guard.check('10.0.0.5', 8081))).toBe('allowed');
  });

  // What Linux does with these dials was measured with real sockets (see dialledHost in
  // src/net/own-listeners.ts): the unspecified address goes to loopback of its family, nowhere else.
  it('refuses 0.0.0.0 and its mapped form at a listener on 127.0.0.1, where Linux delivers them, and only there', () => {
    const guard = createAddressGuard({ allowPrivate: ['0.0.0.0/0', '::/0'], interfaceAddresses: () => ['127.0.0.1', '192.0.2.2', '::1', 'fd00::2'] });
    guard.setOwnListeners([
      { address: '127.0.0.1', port: 8080 },
      { address: '192.0.2.2', port: 8081 },
      { address: '127.0.0.2', port: 8082 },
      { address: 'fd00::2', port: 8083 },
    ]);
    for (const address of ['0.0.0.0', '::ffff:0.0.0.0', '::ffff:0:0']) {
      expect(category(guard.check(address, 8080)), address).toBe('own_listener');
    }
    const refusal = guard.check('0.0.0.0', 8080);
    expect(refusal.ok ? '' : refusal.reason).toBe('destination 0.0.0.0 port 8080 is the proxy itself');
    // Each of these reaches no listener on 127.0.0.1 (connection refused on this port).
    for (const address of ['::', '0.0.0.1', '0.1.2.3', '192.0.2.2', '::ffff:192.0.2.2', '::1', 'fd00::2']) {
      expect(category(guard.check(address, 8080)), address).toBe('allowed');
    }
    // Nor does 0.0.0.0 (or ::) reach a listener on an interface address or another loopback address.
    expect(category(guard.check('192.0.2.2', 8081))).toBe('own_listener');
    for (const [address, port] of [['0.0.0.0', 8081], ['0.0.0.0', 8082], ['::', 8083], ['0.0.0.0', 8084]] as const) {
      expect(category(guard.check(address, port)), `${address} ${String(port)}`).toBe('allowed');
    }
  });

  it('refuses :: at a listener on ::1, and not 0.0.0.0', () => {
    const guard = createAddressGuard({ allowPrivate: ['0.0.0.0/0', '::/0'], interfaceAddresses: () => ['127.0.0.1', '::1'] });
    guard.setOwnListeners([{ address: '::1', port: 8080 }]);
    expect(category(guard.check('::', 8080))).toBe('own_listener');
    expect(category(guard.check('0:0:0:0:0:0:0:0', 8080))).toBe('own_listener');
    expect(category(guard.check('0.0.0.0', 8080))).toBe('allowed');
    expect(category(guard.check('::ffff:0.0.0.0', 8080))).toBe('allowed');
  });

  it('treats :: like 0.0.0.0 and replaces the set on each call', () => {
    const guard = createAddressGuard({ allowPrivate: [], interfaceAddresses: () => ['198.51.99.1'] });
    guard.setOwnListeners([{ address: '::', port: 9000 }]);
    expect(category(guard.check('198.51.99.1', 9000))).toBe('own_listener');
    guard.setOwnListeners([{ address: '::1', port: 9001 }]);
    expect(category(guard.check('198.51.99.1', 9000))).toBe('allowed');
    expect(category(guard.check('::1', 9001))).toBe('own_listener');
    expect(category(guard.check('127.0.0.1', 9001))).toBe('loopback'); // ::1 listener: v4 loopback is just loopback
  });

  it('re-reads interface addresses after a while, not on every check', () => {
    let reads = 0;
    let addresses = ['198.51.99.1'];
    let time = 0;
    const guard = createAddressGuard({
      allowPrivate: [],
      interfaceAddresses: () => {
        reads++;
        return addresses;
      },
      now: () => time,
    });
    guard.setOwnListeners([{ address: '0.0.0.0', port: 8080 }]);
    expect(category(guard.check('198.51.99.1', 8080))).toBe('own_listener');
    addresses = ['198.51.99.2'];
    time = 1_000;
    expect(category(guard.check('198.51.99.1', 8080))).toBe('own_listener');
    expect(reads).toBe(1);
    time = 10_000;
    expect(category(guard.check('198.51.99.2', 8080))).toBe('own_listener');
    expect(category(guard.check('198.51.99.1', 8080))).toBe('allowed');
    expect(reads).toBe(2);
  });

  it('treats an unparsable listener address as a wildcard', () => {
    const guard = createAddressGuard({ allowPrivate: [], interfaceAddresses: () => ['198.51.99.1'] });
    guard.setOwnListeners([{ address: 'localhost', port: 8080 }]);
    expect(category(guard.check('198.51.99.1', 8080))).toBe('own_listener');
  });

  it('uses the real interfaces by default', () => {
    const guard = createAddressGuard({ allowPrivate: ['127.0.0.0/8'] });
    guard.setOwnListeners([{ address: '0.0.0.0', port: 8080 }]);
    expect(category(guard.check('127.0.0.1', 8080))).toBe('own_listener');
    expect(category(guard.check('127.0.0.1', 8081))).toBe('allowed');
  });
});
