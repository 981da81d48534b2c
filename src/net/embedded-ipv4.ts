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

export function embeddedIpv4(words: Ipv6Words): EmbeddedIpv4 | undefined {
  const [w0, w1, w2, w3] = words;
  if (w0 === 0 && w1 === 0) {
    // ::ffff:a.b.c.d, IPv4-mapped (RFC 4291 2.5.5.2): the same host as a.b.c.d on dual-stack sockets.
    if (w2 === 0xffff) return { kind: 'mapped', addresses: [w3] };
    // ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765 / SIIT).
    if (w2 === 0xffff0000) return { kind: 'translated', addresses: [w3] };
    // ::a.b.c.d, IPv4-compatible (deprecated, RFC 4291 2.5.5.1); :: and ::1 are themselves.
    if (w2 === 0 && w3 > 1) return { kind: 'compatible', addresses: [w3] };
    return undefined;
  }
  if (w0 === NAT64_WELL_KNOWN && w1 === 0 && w2 === 0) return { kind: 'nat64', addresses: [w3] };
  if (w0 >>> 16 === SIX_TO_FOUR) return { kind: '6to4', addresses: [(((w0 & 0xffff) << 16) | (w1 >>> 16)) >>> 0] };
  // Teredo: server IPv4 in bits 32-63, client IPv4 obfuscated (inverted) in the last 32 bits.
  if (w0 === TEREDO) return { kind: 'teredo', addresses: [w1, ~w3 >>> 0] };
  return undefined;
}
