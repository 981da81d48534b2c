import { embeddedIpv4 } from '../../net/embedded-ipv4.js';
import { formatIpv4, parseIp } from '../../net/ip-address.js';
import type { PolicySubject } from './policy-subject.js';

/**
 * `domains` entries compiled for lookup: a name matches itself and every subdomain (label
 * boundaries only: `example.com` never matches `notexample.com`), found by looking the host's
 * suffixes up in a Set, so the cost grows with the host's labels, not with the list. An IP
 * literal in the list matches only that IP target: a domain rule never matches an IP by text suffix.
 * An IPv4 entry and its IPv4-mapped IPv6 form (`::ffff:a.b.c.d`, the same host on a dual-stack
 * socket) match each other, as ip rules and the address guard judge them.
 */
export interface DomainSet {
  /** The entry that matched the subject's canonical host, or undefined. */
  match(subject: Pick<PolicySubject, 'host' | 'hostIsIp' | 'suffixes'>): string | undefined;
}

export function createDomainSet(entries: readonly string[]): DomainSet {
  const names = new Set<string>();
  // Canonical target text → the entry it matches. Both spellings of a mapped address are keys,
  // computed here once, so a match stays one probe: canonicalHost writes every mapped target
  // (`[::ffff:7f00:1]` included) as `::ffff:a.b.c.d`.
  const addresses = new Map<string, string>();
  for (const entry of entries) {
    const ipv4 = ipv4Of(entry);
    if (ipv4 === undefined) {
      names.add(entry);
      continue;
    }
    if (ipv4 === null) {
      addresses.set(entry, entry);
      continue;
    }
    addresses.set(ipv4, ipv4);
    addresses.set(`::ffff:${ipv4}`, ipv4);
  }
  return {
    match({ host, hostIsIp, suffixes }) {
      if (hostIsIp) return addresses.get(host);
      return suffixes.find((suffix) => names.has(suffix));
    },
  };
}

/** undefined for a name; null for an IPv6 address that carries no mapped IPv4; else that IPv4's text. */
function ipv4Of(entry: string): string | null | undefined {
  const ip = parseIp(entry);
  if (ip === undefined) return undefined;
  if (ip.family === 4) return formatIpv4(ip.value);
  const embedded = embeddedIpv4(ip.words);
  const [address] = embedded?.addresses ?? [];
  return embedded?.kind === 'mapped' && address !== undefined ? formatIpv4(address) : null;
}
