import { embeddedIpv4 } from '../../net/embedded-ipv4.js';
import { formatIpv4, parseIp } from '../../net/ip-address.js';
import { ENTRIES_PER_STEP, finish, type Steps } from '../../runtime/steps.js';
import type { PolicySubject } from './policy-subject.js';

type DomainSubject = Pick<PolicySubject, 'host' | 'hostIsIp' | 'suffixes'>;

/**
 * `domains` entries compiled for lookup: a name matches itself and every subdomain (label
 * boundaries only: `example.com` never matches `notexample.com`), found by looking the host's
 * suffixes up in a Set, so the cost grows with the host's labels, not with the list. An IP
 * literal in the list matches only that IP target: a domain rule never matches an IP by text suffix.
 *
 * An IPv4 entry also matches every IPv6 target the address guard reads that IPv4 out of
 * (src/net/embedded-ipv4.ts: IPv4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4
 * `2002:AABB:CCDD::/48`, IPv4-translated, IPv4-compatible, Teredo), since through a dual-stack
 * socket, a translator or a relay the dial reaches that IPv4. A mapped entry is its IPv4. Other
 * IPv6 entries match that IPv6 target only.
 */
export interface DomainSet {
  /**
   * The entry that matched the subject's canonical host, or undefined. A Teredo target carries two
   * IPv4s (server, client) and matches when either is listed: what a blocklist must refuse.
   */
  match(subject: DomainSubject): string | undefined;
  /**
   * Whether the host is listed, for an allowlist: as `match`, except that a Teredo target is
   * admitted only when both IPv4s it carries are listed (as network.allow_private opens one).
   */
  admits(subject: DomainSubject): boolean;
}

export function createDomainSet(entries: readonly string[]): DomainSet {
  return finish(createDomainSetSteps(entries));
}

/** createDomainSet a piece at a time (runtime/steps.ts), for a synced list of up to 100,000. */
export function* createDomainSetSteps(entries: readonly string[]): Steps<DomainSet> {
  const names = new Set<string>();
  // Canonical IP text → the entry it matches: IPv4 entries (mapped ones as their IPv4) and IPv6 entries.
  const exact = new Map<string, string>();
  // IPv4 value → its entry, for the IPv4s carried by an IPv6 target.
  const ipv4 = new Map<number, string>();
  for (const [at, entry] of entries.entries()) {
    if (at % ENTRIES_PER_STEP === ENTRIES_PER_STEP - 1) yield;
    const ip = parseIp(entry);
    if (ip === undefined) {
      names.add(entry);
      continue;
    }
    const embedded = ip.family === 6 ? embeddedIpv4(ip.words) : undefined;
    const value = ip.family === 4 ? ip.value : embedded?.kind === 'mapped' ? embedded.addresses[0] : undefined;
    if (value === undefined) {
      exact.set(entry, entry);
      continue;
    }
    const text = formatIpv4(value);
    exact.set(text, text);
    ipv4.set(value, text);
  }

  /** The entry matching an IPv4 the IPv6 host carries: any of them, or only when every one is listed. */
  function carried(host: string, every: boolean): string | undefined {
    if (ipv4.size === 0 || !host.includes(':')) return undefined;
    const ip = parseIp(host);
    if (ip?.family !== 6) return undefined;
    const embedded = embeddedIpv4(ip.words);
    if (embedded === undefined) return undefined;
    let found: string | undefined;
    for (const address of embedded.addresses) {
      const entry = ipv4.get(address);
      if (entry === undefined) {
        if (every) return undefined;
      } else if (!every) {
        return entry;
      } else {
        found ??= entry;
      }
    }
    return found;
  }

  return {
    match({ host, hostIsIp, suffixes }) {
      if (hostIsIp) return exact.get(host) ?? carried(host, false);
      return suffixes.find((suffix) => names.has(suffix));
    },
    admits({ host, hostIsIp, suffixes }) {
      if (hostIsIp) return exact.has(host) || carried(host, true) !== undefined;
      return suffixes.some((suffix) => names.has(suffix));
    },
  };
}
