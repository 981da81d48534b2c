import { compileCidr, parseCidr, type CidrMatcher } from '../../net/cidr.js';
import type { IpAddress } from '../../net/ip-address.js';

/** A candidate address: the literal target or one the name resolved to, parsed once per evaluation. */
export interface Candidate {
  readonly text: string;
  readonly ip: IpAddress;
}

export interface IpMatch {
  readonly entry: string;
  readonly address: string;
}

/**
 * `ip`/`ips` entries compiled with src/net/cidr.ts, so IPv4-mapped IPv6 (`::ffff:10.0.0.1`) is
 * judged as the IPv4 it carries, like the address guard does.
 */
export interface IpSet {
  match(candidates: readonly Candidate[]): IpMatch | undefined;
}

export function createIpSet(entries: readonly string[]): IpSet {
  const matchers: { readonly entry: string; readonly matcher: CidrMatcher }[] = entries.map((entry) => {
    const cidr = parseCidr(entry);
    // parse-policies.ts produced these; a bad one here is a programming error (and fails closed).
    if (cidr === undefined) throw new Error(`ip rule is not canonical: ${entry}`);
    return { entry, matcher: compileCidr(cidr) };
  });
  return {
    match(candidates) {
      for (const candidate of candidates) {
        for (const { entry, matcher } of matchers) {
          if (matcher.contains(candidate.ip)) return { entry, address: candidate.text };
        }
      }
      return undefined;
    },
  };
}
