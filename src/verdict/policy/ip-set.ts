import { parseCidr } from '../../net/cidr.js';
import { embeddedAt, embeddedCount, embeddingOf } from '../../net/embedded-ipv4.js';
import { parseIp, type IpAddress, type Ipv6Words } from '../../net/ip-address.js';
import { ipRange, ipv4InRange, ipv6InRange, type IpRange } from '../../net/ip-range.js';
import { ENTRIES_PER_STEP, finish, type Steps } from '../../runtime/steps.js';

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
 * `ip`/`ips` entries compiled for matching. An IPv4 is judged against an IPv6 entry only when
 * that entry lies inside ::ffff:0:0/96 (`::ffff:10.0.0.0/104` is 10.0.0.0/8), as src/net/cidr.ts
 * does: a wider IPv6 entry (`::/0`, `::/64`) names IPv6 hosts, not every IPv4. An IPv6
 * candidate is judged as itself and, when it carries an IPv4 (src/net/embedded-ipv4.ts, read as
 * the address guard reads it: IPv4-mapped, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`,
 * IPv4-translated, IPv4-compatible, Teredo), as that IPv4 too: through a dual-stack socket, a
 * translator or a relay the dial reaches it. A Teredo candidate carries two (server, client) and
 * matches when either is in a range, as a blocklist must (ip rules are blocklist rules). An IPv6
 * entry holds IPv6 candidates only, never the IPv4 inside one.
 *
 * Short lists are scanned; long ones (threat feeds) are bucketed by prefix length, so a lookup
 * costs one masked Map probe per distinct prefix instead of one compare per entry. Reading the
 * carried IPv4s allocates nothing, and neither does an IPv4 lookup.
 */
export interface IpSet {
  match(candidates: readonly Candidate[]): IpMatch | undefined;
}

/** Up to this many entries a linear scan is as fast as hashing. */
const LINEAR_MAX = 16;

type Ipv4Range = Extract<IpRange, { readonly family: 4 }>;
type Ipv6Range = Extract<IpRange, { readonly family: 6 }>;

interface Held<R> {
  readonly entry: string;
  readonly range: R;
}

/** The two questions a set answers: which entry holds this IPv4, which this IPv6. */
interface Lookup {
  ipv4(value: number): string | undefined;
  ipv6(words: Ipv6Words): string | undefined;
}

export function createIpSet(entries: readonly string[]): IpSet {
  return finish(createIpSetSteps(entries));
}

/** createIpSet a piece at a time (runtime/steps.ts), for a synced feed of up to 100,000 ranges. */
export function* createIpSetSteps(entries: readonly string[]): Steps<IpSet> {
  // What each entry holds: IPv4s (an IPv4 entry, or the mapped part of an IPv6 one) and IPv6s.
  const ipv4: Held<Ipv4Range>[] = [];
  const ipv6: Held<Ipv6Range>[] = [];
  for (const [at, entry] of entries.entries()) {
    if (at % ENTRIES_PER_STEP === ENTRIES_PER_STEP - 1) yield;
    const cidr = parseCidr(entry);
    const address = cidr === undefined ? undefined : parseIp(cidr.address);
    // parse-policies.ts produced these; a bad one here is a programming error (and fails closed).
    if (cidr === undefined || address === undefined) throw new Error(`ip rule is not canonical: ${entry}`);
    const range = ipRange(address, cidr.prefix);
    if (range.family === 4) {
      ipv4.push({ entry, range });
      continue;
    }
    ipv6.push({ entry, range });
    const mapped = mappedPart(range);
    if (mapped !== undefined) ipv4.push({ entry, range: mapped });
  }
  const lookup = entries.length <= LINEAR_MAX ? scanned(ipv4, ipv6) : yield* bucketed(ipv4, ipv6);
  return {
    match(candidates) {
      for (const candidate of candidates) {
        const entry = entryFor(lookup, candidate.ip);
        if (entry !== undefined) return { entry, address: candidate.text };
      }
      return undefined;
    },
  };
}

/** An IPv4 as itself; an IPv6 as itself, then as each IPv4 it carries (one listed is enough). */
function entryFor(lookup: Lookup, ip: IpAddress): string | undefined {
  if (ip.family === 4) return lookup.ipv4(ip.value);
  const words = ip.words;
  const kind = embeddingOf(words);
  const own = lookup.ipv6(words);
  if (kind === undefined || own !== undefined) return own;
  const count = embeddedCount(kind);
  for (let index = 0; index < count; index++) {
    const entry = lookup.ipv4(embeddedAt(words, kind, index));
    if (entry !== undefined) return entry;
  }
  return undefined;
}

/**
 * The IPv4s an IPv6 range names, as an IPv4 range, when it lies inside ::ffff:0:0/96
 * (`::ffff:10.0.0.0/104` → 10.0.0.0/8); undefined for any other (`::/0`, `2001:db8::/32`).
 */
function mappedPart(range: Ipv6Range): Ipv4Range | undefined {
  const { base, mask } = range;
  if (range.prefix < 96 || base[0] !== 0 || base[1] !== 0 || base[2] !== 0xffff) return undefined;
  return { family: 4, base: base[3], mask: mask[3], prefix: Math.max(0, range.prefix - 96) };
}

function scanned(ipv4: readonly Held<Ipv4Range>[], ipv6: readonly Held<Ipv6Range>[]): Lookup {
  return {
    ipv4(value) {
      for (const { entry, range } of ipv4) if (ipv4InRange(value, range)) return entry;
      return undefined;
    },
    ipv6(words) {
      for (const { entry, range } of ipv6) if (ipv6InRange(words, range)) return entry;
      return undefined;
    },
  };
}

interface Bucket<K, M> {
  readonly mask: M;
  /** Masked network → the first entry that listed it. */
  readonly networks: Map<K, string>;
}

function* bucketed(ipv4: readonly Held<Ipv4Range>[], ipv6: readonly Held<Ipv6Range>[]): Steps<Lookup> {
  const v4 = new Map<number, Bucket<number, number>>();
  for (const [at, { entry, range }] of ipv4.entries()) {
    if (at % ENTRIES_PER_STEP === ENTRIES_PER_STEP - 1) yield;
    add(v4, range.prefix, range.mask, range.base, entry);
  }
  const v6 = new Map<number, Bucket<string, Ipv6Words>>();
  for (const [at, { entry, range }] of ipv6.entries()) {
    if (at % ENTRIES_PER_STEP === ENTRIES_PER_STEP - 1) yield;
    add(v6, range.prefix, range.mask, keyOf(range.base, range.mask), entry);
  }
  const v4Buckets = [...v4.values()];
  const v6Buckets = [...v6.values()];
  return {
    ipv4(value) {
      for (const { mask, networks } of v4Buckets) {
        const entry = networks.get((value & mask) >>> 0);
        if (entry !== undefined) return entry;
      }
      return undefined;
    },
    ipv6(words) {
      for (const { mask, networks } of v6Buckets) {
        const entry = networks.get(keyOf(words, mask));
        if (entry !== undefined) return entry;
      }
      return undefined;
    },
  };
}

function add<K, M>(buckets: Map<number, Bucket<K, M>>, prefix: number, mask: M, key: K, entry: string): void {
  let bucket = buckets.get(prefix);
  if (bucket === undefined) {
    bucket = { mask, networks: new Map() };
    buckets.set(prefix, bucket);
  }
  if (!bucket.networks.has(key)) bucket.networks.set(key, entry);
}

function keyOf(words: Ipv6Words, mask: Ipv6Words): string {
  return `${(words[0] & mask[0]) >>> 0}.${(words[1] & mask[1]) >>> 0}.${(words[2] & mask[2]) >>> 0}.${(words[3] & mask[3]) >>> 0}`;
}
