import { parseIpv6 } from './ip-address.js';
import { systemInterfaceAddresses } from './own-listeners.js';

/** How long this host's own addresses are trusted before they are listed again. */
const RECHECK_MS = 1_000;

export interface FamilyOrderOptions {
  /** This host's interface addresses (tests pass their own); os.networkInterfaces' by default. */
  readonly interfaceAddresses?: () => readonly string[];
  /** Clock in ms; performance.now by default. */
  readonly now?: () => number;
}

/** Puts a name's IPv4 and IPv6 addresses in the order the dial tries them. */
export type FamilyOrder = (ipv4: readonly string[], ipv6: readonly string[]) => readonly string[];

/**
 * The order getaddrinfo gave a name's addresses (RFC 6724 as glibc sorts them), reduced to what
 * decides it between the families: IPv6 first only when this host has a global unicast IPv6
 * address (2000::/3) to send from; with none (no IPv6, or only loopback, link-local or unique
 * local addresses, whose labels do not match a global destination: RFC 6724 rules 2 and 5) IPv4
 * first. Within a family the resolver's order is kept; dial.ts then alternates the families from
 * the first address (Happy Eyeballs). The host's addresses are listed at most once a second.
 */
export function createFamilyOrder(options: FamilyOrderOptions = {}): FamilyOrder {
  const interfaceAddresses = options.interfaceAddresses ?? systemInterfaceAddresses;
  const now = options.now ?? (() => performance.now());
  let ipv6First = false;
  let checkedAt = -Infinity;
  return (ipv4, ipv6) => {
    if (ipv4.length === 0) return ipv6;
    if (ipv6.length === 0) return ipv4;
    const at = now();
    if (at - checkedAt >= RECHECK_MS) {
      checkedAt = at;
      ipv6First = interfaceAddresses().some(isGlobalUnicast);
    }
    return ipv6First ? [...ipv6, ...ipv4] : [...ipv4, ...ipv6];
  };
}

/** An IPv6 address in 2000::/3. */
function isGlobalUnicast(address: string): boolean {
  const words = address.includes(':') ? parseIpv6(address, true) : undefined;
  return words !== undefined && words[0] >>> 29 === 1;
}
