import { compileCidr, parseCidr, type CidrMatcher } from '../../net/cidr.js';
import { parseIp, type IpAddress, type Ipv6Words } from '../../net/ip-address.js';
import { ipRange } from '../../net/ip-range.js';

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
 * `ip`/`ips` entries compiled for matching; IPv4-mapped IPv6 (`::ffff:10.0.0.1`) and IPv4 match
 * each other's ranges, as src/net/cidr.ts (and the address guard) judge them. Short lists are
 * scanned with cidr.ts matchers; long ones (threat feeds) are bucketed by prefix length, so a
 * lookup costs one masked Map probe per distinct prefix instead of one compare per entry.
 */
export interface IpSet {
  match(candidates: readonly Candidate[]): IpMatch | undefined;
}

/** Up to this many entries a linear scan is as fast as hashing. */
const LINEAR_MAX = 16;

export function createIpSet(entries: readonly string[]): IpSet {
  const compiled = entries.map((entry) => {
    const cidr = parseCidr(entry);
    // parse-policies.ts produced these; a bad one here is a programming error (and fails closed).
    if (cidr === undefined) throw new Error(`ip rule is not canonical: ${entry}`);
    return { entry, matcher: compileCidr(cidr) };
  });
  return compiled.length <= LINEAR_MAX ? linearSet(compiled) : bucketedSet(compiled);
}

function linearSet(compiled: readonly { readonly entry: string; readonly matcher: CidrMatcher }[]): IpSet {
  return {
    match(candidates) {
      for (const candidate of candidates) {
        for (const { entry, matcher } of compiled) {
          if (matcher.contains(candidate.ip)) return { entry, address: candidate.text };
        }
      }
      return undefined;
    },
  };
}

interface Bucket {
  readonly family: 4 | 6;
  readonly mask: Ipv6Words;
  /** Masked network key → the entry that put it there. */
  readonly networks: Map<string, string>;
}

function bucketedSet(compiled: readonly { readonly entry: string; readonly matcher: CidrMatcher }[]): IpSet {
  const buckets = new Map<string, Bucket>();
  for (const { entry, matcher } of compiled) {
    const range = ipRange(addressOf(matcher), matcher.cidr.prefix);
    const mask: Ipv6Words = range.family === 4 ? [0, 0, 0, range.mask] : range.mask;
    const words: Ipv6Words = range.family === 4 ? [0, 0, 0, range.base] : range.base;
    const id = `${range.family}/${range.prefix}`;
    let bucket = buckets.get(id);
    if (bucket === undefined) {
      bucket = { family: range.family, mask, networks: new Map() };
      buckets.set(id, bucket);
    }
    const key = keyOf(words, mask);
    if (!bucket.networks.has(key)) bucket.networks.set(key, entry);
  }
  const all = [...buckets.values()];
  return {
    match(candidates) {
      for (const candidate of candidates) {
        const { v4, v6 } = forms(candidate.ip);
        for (const bucket of all) {
          const words = bucket.family === 4 ? v4 : v6;
          if (words === null) continue;
          const entry = bucket.networks.get(keyOf(words, bucket.mask));
          if (entry !== undefined) return { entry, address: candidate.text };
        }
      }
      return undefined;
    },
  };
}

/** The candidate as IPv4 (in the last word) and as IPv6: a mapped address is both, as in cidr.ts. */
function forms(ip: IpAddress): { readonly v4: Ipv6Words | null; readonly v6: Ipv6Words } {
  if (ip.family === 4) return { v4: [0, 0, 0, ip.value], v6: [0, 0, 0xffff, ip.value] };
  const [w0, w1, w2, w3] = ip.words;
  return { v4: w0 === 0 && w1 === 0 && w2 === 0xffff ? [0, 0, 0, w3] : null, v6: ip.words };
}

function keyOf(words: Ipv6Words, mask: Ipv6Words): string {
  return `${(words[0] & mask[0]) >>> 0}.${(words[1] & mask[1]) >>> 0}.${(words[2] & mask[2]) >>> 0}.${(words[3] & mask[3]) >>> 0}`;
}

function addressOf(matcher: CidrMatcher): IpAddress {
  const parsed = parseIp(matcher.cidr.address);
  if (parsed === undefined) throw new Error(`ip rule is not canonical: ${matcher.cidr.address}`);
  return parsed;
}
