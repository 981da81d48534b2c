import { embeddedAt, embeddedCount, embeddedIpv4, embeddingOf, type EmbeddingKind } from './embedded-ipv4.js';
import { parseIp, type IpAddress, type Ipv6Words } from './ip-address.js';
import { ipRangeOf, ipv4InRange, ipv6InRange, type IpRange } from './ip-range.js';

/**
 * What kind of non-public destination an address is. `null` from the classifiers means public.
 * `invalid` is text that is not an IP address at all: refused like the rest (fail closed).
 */
export type AddressCategory =
  | 'loopback'
  | 'private'
  | 'link_local'
  | 'metadata'
  | 'cgnat'
  | 'unique_local'
  | 'unspecified'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'invalid';

/** For refusal reasons: "destination 10.0.0.1 is <description>". */
export const CATEGORY_DESCRIPTIONS: Readonly<Record<AddressCategory, string>> = {
  loopback: 'a loopback address',
  private: 'a private network address',
  link_local: 'a link-local address',
  metadata: 'a cloud metadata address',
  cgnat: 'a carrier-grade NAT (shared) address',
  unique_local: 'an IPv6 unique local address',
  unspecified: 'an unspecified ("this host") address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved or non-routable address',
  invalid: 'not a valid IP address',
};

/** An IPv4 address embedded in an IPv6 one, and how. */
export interface EmbeddedVia {
  readonly kind: EmbeddingKind;
  readonly ipv4: number;
}

export interface AddressClass {
  readonly category: AddressCategory;
  /** Set when the category comes from an IPv4 address embedded in an IPv6 one. */
  readonly via?: EmbeddedVia;
}

/** The category of one non-public IPv4 embedded in an IPv6 address. */
export interface EmbeddedClass {
  readonly category: AddressCategory;
  readonly via: EmbeddedVia;
}

interface Entry {
  readonly range: IpRange;
  readonly category: AddressCategory;
}
type Table = readonly Entry[];

function table(entries: readonly (readonly [string, AddressCategory])[]): Table {
  return entries.map(([text, category]) => ({ range: ipRangeOf(text), category }));
}

// First match wins: more specific entries come first.
const IPV4: Table = table([
  // Instance metadata and credential endpoints: AWS/GCP/Azure/OCI IMDS, AWS ECS task credentials,
  // EKS Pod Identity, Alibaba Cloud. More specific than link-local / CGNAT, so named for what they are.
  ['169.254.169.254/32', 'metadata'],
  ['169.254.170.2/32', 'metadata'],
  ['169.254.170.23/32', 'metadata'],
  ['100.100.100.200/32', 'metadata'],
  ['255.255.255.255/32', 'broadcast'],
  ['0.0.0.0/8', 'unspecified'], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['127.0.0.0/8', 'loopback'],
  ['10.0.0.0/8', 'private'],
  ['172.16.0.0/12', 'private'],
  ['192.168.0.0/16', 'private'],
  ['169.254.0.0/16', 'link_local'],
  ['100.64.0.0/10', 'cgnat'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'], // future use; not routable
  // Special-purpose ranges never routed on the Internet. Refusing them costs no real traffic, and
  // some networks use them internally (198.18/15 and the TEST-NETs especially).
  ['192.0.0.0/24', 'reserved'], // IETF protocol assignments
  ['192.0.2.0/24', 'reserved'], // TEST-NET-1 (documentation)
  ['198.51.100.0/24', 'reserved'], // TEST-NET-2 (documentation)
  ['203.0.113.0/24', 'reserved'], // TEST-NET-3 (documentation)
  ['198.18.0.0/15', 'reserved'], // benchmarking
  ['192.88.99.0/24', 'reserved'], // deprecated 6to4 relay anycast (RFC 7526)
]);

const IPV6_BEFORE_EMBEDDED: Table = table([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['fd00:ec2::254/128', 'metadata'], // AWS IMDS over IPv6
  ['fd00:ec2::23/128', 'metadata'], // EKS Pod Identity over IPv6
]);

const IPV6: Table = table([
  ['64:ff9b:1::/48', 'reserved'], // local-use NAT64 (RFC 8215): IPv4 position depends on the site's prefix
  ['100::/64', 'reserved'], // discard-only
  ['2001:2::/48', 'reserved'], // benchmarking
  ['2001:db8::/32', 'reserved'], // documentation
  ['2001:10::/28', 'reserved'], // ORCHID (deprecated)
  ['2001:20::/28', 'reserved'], // ORCHIDv2: overlay identifiers, not routable
  ['3fff::/20', 'reserved'], // documentation (RFC 9637)
  ['5f00::/16', 'reserved'], // SRv6 SIDs (RFC 9602)
  ['fc00::/7', 'unique_local'],
  ['fe80::/10', 'link_local'],
  ['fec0::/10', 'reserved'], // site-local (deprecated): private in practice
  ['ff00::/8', 'multicast'],
]);

export function classifyIpv4(value: number): AddressCategory | null {
  for (const entry of IPV4) {
    if (ipv4InRange(value, entry.range)) return entry.category;
  }
  return null;
}

function lookupIpv6(words: Ipv6Words, entries: Table): AddressCategory | null {
  for (const entry of entries) {
    if (ipv6InRange(words, entry.range)) return entry.category;
  }
  return null;
}

/** classifyIpv6's category alone: computed without allocating, since it runs before every dial. */
function ipv6Category(words: Ipv6Words): AddressCategory | null {
  const early = lookupIpv6(words, IPV6_BEFORE_EMBEDDED);
  if (early !== null) return early;
  const kind = embeddingOf(words);
  if (kind !== undefined) {
    // The embedded IPv4 decides (the first one with a category); the IPv6 ranges that carry one are otherwise global.
    for (let index = 0; index < embeddedCount(kind); index++) {
      const category = classifyIpv4(embeddedAt(words, kind, index));
      if (category !== null) return category;
    }
    return null;
  }
  const category = lookupIpv6(words, IPV6);
  if (category !== null) return category;
  // Only 2000::/3 is allocated for global unicast; the rest is unassigned or special.
  if (words[0] >>> 29 !== 1) return 'reserved';
  return null;
}

function classifyIpv6(words: Ipv6Words): AddressClass | null {
  const category = ipv6Category(words);
  if (category === null) return null;
  // Named when an embedded IPv4 decided (not the early table): the first non-public one, as ipv6Category found it.
  const decided = embeddingOf(words) !== undefined && lookupIpv6(words, IPV6_BEFORE_EMBEDDED) === null;
  const via = decided ? classifyEmbedded(words)[0]?.via : undefined;
  return via === undefined ? { category } : { category, via };
}

/**
 * Every non-public IPv4 embedded in an IPv6 address, with its category, in embedding order; empty
 * when none is embedded or all are public. classifyIp names only the first, but Teredo carries two
 * (server, then client): opening the server's range with allow_private must not open a loopback
 * or metadata client, so the guard judges each one.
 */
export function classifyEmbedded(words: Ipv6Words): readonly EmbeddedClass[] {
  const embedded = embeddedIpv4(words);
  if (embedded === undefined) return [];
  const found: EmbeddedClass[] = [];
  for (const ipv4 of embedded.addresses) {
    const category = classifyIpv4(ipv4);
    if (category !== null) found.push({ category, via: { kind: embedded.kind, ipv4 } });
  }
  return found;
}

/** classifyIp(address)?.category ?? null, without building the result: for checks made on every dial. */
export function ipCategory(address: IpAddress): AddressCategory | null {
  return address.family === 4 ? classifyIpv4(address.value) : ipv6Category(address.words);
}

/** The category of a parsed address, with the embedded IPv4 that decided it; null when public. */
export function classifyIp(address: IpAddress): AddressClass | null {
  if (address.family === 4) {
    const category = classifyIpv4(address.value);
    return category === null ? null : { category };
  }
  return classifyIpv6(address.words);
}

/** The category of address text (IPv4 dotted quad or IPv6, zone allowed); null when public. */
export function classifyAddress(address: string): AddressCategory | null {
  const parsed = parseIp(address);
  if (parsed === undefined) return 'invalid';
  return classifyIp(parsed)?.category ?? null;
}
