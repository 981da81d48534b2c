import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFamilyOrder } from '../../../src/net/family-order.js';
import { lookupWithin, TIMED_OUT, type NameLookup } from '../../../src/net/lookup-deadline.js';
import { createNameResolver, type LookupResult } from '../../../src/net/resolve.js';
import { startDnsServer, type DnsServer } from '../../helpers/dns-server.js';

/**
 * The resolver (src/net/resolve.ts) against a real DNS server on loopback, named as its nameserver:
 * what each kind of answer becomes, A and AAAA together, and the hosts file before DNS.
 */
let dns: DnsServer;
let lookup: NameLookup;

beforeAll(async () => {
  dns = await startDnsServer();
  lookup = createNameResolver({
    servers: [dns.address],
    hostsFile: { addressesOf: (name) => (name === 'listed.kzp.test' ? ['192.0.2.9', '2001:db8::9'] : undefined) },
    familyOrder: createFamilyOrder({ interfaceAddresses: () => ['10.0.0.2'] }),
  });
});

afterAll(async () => {
  await dns.close();
});

/** The names the server was asked for since the `from`-th query. */
function askedSince(from: number): readonly string[] {
  return dns.queries.slice(from).map((query) => `${query.name}/${String(query.type)}`);
}

const NEGATIVE = (code: string): LookupResult => ({ ok: false, code: 'KZP_ERR_DNS', message: `lookup failed: ${code}`, negative: true });
const NO_ANSWER = (code: string): LookupResult => ({ ok: false, code: 'KZP_ERR_DNS', message: `lookup failed: ${code}`, negative: false });

describe('name resolver', () => {
  it('asks A and AAAA of the name as written; IPv4 first on a host without global IPv6', async () => {
    dns.set('both.kzp.test', { records: { a: ['192.0.2.1', '192.0.2.2'], aaaa: ['2001:db8::1'] } });
    const from = dns.queries.length;
    expect(await lookup('both.kzp.test')).toEqual({ ok: true, addresses: ['192.0.2.1', '192.0.2.2', '2001:db8::1'] });
    expect([...askedSince(from)].sort()).toEqual(['both.kzp.test/1', 'both.kzp.test/28']);
  });

  it('one family alone is enough', async () => {
    dns.set('six.kzp.test', { records: { aaaa: ['2001:db8::6'] } });
    expect(await lookup('six.kzp.test')).toEqual({ ok: true, addresses: ['2001:db8::6'] });
  });

  it('no such name (NXDOMAIN) and no address record (NODATA) are answers: negative', async () => {
    dns.set('gone.kzp.test', 'nxdomain');
    dns.set('empty.kzp.test', { records: {} });
    expect(await lookup('gone.kzp.test')).toEqual(NEGATIVE('ENOTFOUND'));
    expect(await lookup('empty.kzp.test')).toEqual(NEGATIVE('ENODATA'));
  });

  it('a failing server (SERVFAIL) is no answer', async () => {
    dns.set('failing.kzp.test', 'servfail');
    expect(await lookup('failing.kzp.test')).toEqual(NO_ANSWER('ESERVFAIL'));
  });

  it('a single-label name is asked as itself and nothing else', async () => {
    const from = dns.queries.length;
    expect(await lookup('db')).toEqual(NEGATIVE('ENOTFOUND'));
    expect(await lookup('db.')).toEqual(NEGATIVE('ENOTFOUND'));
    expect(new Set(askedSince(from))).toEqual(new Set(['db/1', 'db/28']));
  });

  it('a name the hosts file lists is answered from it, with no query', async () => {
    const from = dns.queries.length;
    expect(await lookup('listed.kzp.test')).toEqual({ ok: true, addresses: ['192.0.2.9', '2001:db8::9'] });
    expect(await lookup('LISTED.kzp.test.')).toEqual({ ok: true, addresses: ['192.0.2.9', '2001:db8::9'] });
    expect(askedSince(from)).toEqual([]);
  });
});

describe('name resolver at its deadline (network.dns_timeout)', () => {
  it('answers with the family that answered when the other is dropped (AAAA, then A)', async () => {
    dns.set('no-aaaa.kzp.test', { records: { a: ['192.0.2.7'], aaaa: 'silent' } });
    dns.set('no-a.kzp.test', { records: { a: 'silent', aaaa: ['2001:db8::7'] } });
    expect(await lookupWithin(lookup, 'no-aaaa.kzp.test', 300)).toEqual({ ok: true, addresses: ['192.0.2.7'] });
    expect(await lookupWithin(lookup, 'no-a.kzp.test', 300)).toEqual({ ok: true, addresses: ['2001:db8::7'] });
  });

  it('no A record (NODATA) with AAAA dropped is no answer, not a negative one: a stale answer may serve', async () => {
    dns.set('gone-half.kzp.test', { records: { a: [], aaaa: 'silent' } });
    expect(await lookupWithin(lookup, 'gone-half.kzp.test', 300)).toEqual(NO_ANSWER('ETIMEOUT'));
  });

  it('with neither family answered: lookup timed out', async () => {
    dns.set('mute.kzp.test', 'silent');
    expect(await lookupWithin(lookup, 'mute.kzp.test', 300)).toEqual(TIMED_OUT);
  });
});
