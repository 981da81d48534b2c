import type { Ipv6Words } from './ip-address.js';

/**
 * IPv6 addresses that carry an IPv4 address and can lead a packet to it. A destination like
 * `::ffff:169.254.169.254` or `64:ff9b::a9fe:a9fe` must be judged by the IPv4 inside.
 */
export type EmbeddingKind = 'mapped' | 'translated' | 'compatible' | 'nat64' | '6to4' | 'teredo';

export interface EmbeddedIpv4 {
  readonly kind: EmbeddingKind;
  /** One address, or two for Teredo (server, then client). */
  readonly addresses: readonly number[];
}

const NAT64_WELL_KNOWN = 0x0064ff9b; // 64:ff9b::/96 (RFC 6052)
const TEREDO = 0x20010000; // 2001::/32 (RFC 4380)
const SIX_TO_FOUR = 0x2002; // 2002::/16 (RFC 3056)

/**
 * How the address carries an IPv4, if it does. With embeddedCount and embeddedAt this reads the
 * IPv4s without allocating, for checks made on every dial; embeddedIpv4 gathers them.
 */
export function embeddingOf(words: Ipv6Words): EmbeddingKind | undefined {
  const w0 = words[0];
  const w1 = words[1];
  const w2 = words[2];
  if (w0 === 0 && w1 === 0) {
    // ::ffff:a.b.c.d, IPv4-mapped (RFC 4291 2.5.5.2): the same host as a.b.c.d on dual-stack sockets.
    if (w2 === 0xffff) return 'mapped';
    // ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765 / SIIT).
    if (w2 === 0xffff0000) return 'translated';
    // ::a.b.c.d, IPv4-compatible (deprecated, RFC 4291 2.5.5.1); :: and ::1 are themselves.
    if (w2 === 0 && words[3] > 1) return 'compatible';
    return undefined;
  }
  if (w0 === NAT64_WELL_KNOWN && w1 === 0 && w2 === 0) return 'nat64';
  if (w0 >>> 16 === SIX_TO_FOUR) return '6to4';
  if (w0 === TEREDO) return 'teredo';
  return undefined;
}

/** How many IPv4s an address of this kind carries: two for Teredo (server, client), else one. */
export function embeddedCount(kind: EmbeddingKind): 1 | 2 {
  return kind === 'teredo' ? 2 : 1;
}

/** The IPv4 at `index` (below embeddedCount) of an address that embeddingOf found to be of `kind`. */
export function embeddedAt(words: Ipv6Words, kind: EmbeddingKind, index: number): number {
  switch (kind) {
    case 'mapped':
    case 'translated':
    case 'compatible':
    case 'nat64':
      return words[3];
    case '6to4':
      // 2002:AABB:CCDD::/48: the IPv4 sits in bits 16-47.
      return (((words[0] & 0xffff) << 16) | (words[1] >>> 16)) >>> 0;
    case 'teredo':
      // Server IPv4 in bits 32-63, client IPv4 obfuscated (inverted) in the last 32 bits.
      return index === 0 ? words[1] : ~words[3] >>> 0;
  }
}

export function embeddedIpv4(words: Ipv6Words): EmbeddedIpv4 | undefined {
  const kind = embeddingOf(words);
  if (kind === undefined) return undefined;
  const addresses = [embeddedAt(words, kind, 0)];
  if (embeddedCount(kind) === 2) addresses.push(embeddedAt(words, kind, 1));
  return { kind, addresses };
}
