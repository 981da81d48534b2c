import { networkInterfaces } from 'node:os';
import { classifyIp, ipCategory } from './address-class.js';
import { embeddedAt, embeddedCount, embeddedIpv4, embeddingOf } from './embedded-ipv4.js';
import { parseIp, type IpAddress, type Ipv6Words } from './ip-address.js';

/**
 * The proxy's own listening sockets, so that it never dials itself (a loop, and a way around
 * gateway authentication). A listener on a wildcard address (0.0.0.0 or ::) is reachable on every
 * local interface address and on loopback, so all of those count as "own" at its port. A listener
 * on one address is reached by that address and by a dial to the unspecified address that Linux
 * delivers to it (see dialledHost).
 */
export interface Listener {
  readonly address: string;
  readonly port: number;
}

export interface OwnListeners {
  set(listeners: readonly Listener[]): void;
  /** Whether dialling `address`:`port` would reach one of our listeners. */
  includes(address: IpAddress, port: number): boolean;
}

/** Addresses of local interfaces are re-read at most this often (DHCP, hot-plugged interfaces). */
const INTERFACE_REFRESH_MS = 5_000;

export function systemInterfaceAddresses(): readonly string[] {
  const out: string[] = [];
  for (const infos of Object.values(networkInterfaces())) {
    for (const info of infos ?? []) out.push(info.address);
  }
  return out;
}

/**
 * The forms under which one host can be dialled: IPv4-mapped IPv6 collapses to IPv4 (so
 * `::ffff:127.0.0.1` equals `127.0.0.1`); other IPv6 forms that embed an IPv4 count as both.
 */
function hostForms(address: IpAddress): readonly IpAddress[] {
  if (address.family === 4) return [address];
  const embedded = embeddedIpv4(address.words);
  if (embedded === undefined) return [address];
  const forms = embedded.addresses.map((value): IpAddress => ({ family: 4, value }));
  return embedded.kind === 'mapped' ? forms : [address, ...forms];
}

const IPV4_LOOPBACK = 0x7f000001;
const IPV6_LOOPBACK: Ipv6Words = [0, 0, 0, 1];

/**
 * Where Linux delivers a dial: with no source address bound (the proxy binds none), a connect()
 * to 0.0.0.0 goes to 127.0.0.1 and one to :: goes to ::1. Measured with net.connect on Linux 6.18:
 * 0.0.0.0 and ::ffff:0.0.0.0 reach a listener on 127.0.0.1, not one on 127.0.0.2, ::1 or an
 * interface address; :: reaches a listener on ::1 only; 0.0.0.1 and the rest of 0.0.0.0/8 reach
 * none. So the unspecified address stands for loopback here, not for every local address.
 */
function dialledIpv4(value: number): number {
  return value === 0 ? IPV4_LOOPBACK : value;
}

function dialledIpv6(words: Ipv6Words): Ipv6Words {
  // Indexed, not destructured: destructuring iterates, and boxes each word of 2^31 or more.
  return (words[0] | words[1] | words[2] | words[3]) === 0 ? IPV6_LOOPBACK : words;
}

function knowsIpv4(known: readonly IpAddress[], value: number): boolean {
  for (const host of known) {
    if (host.family === 4 && host.value === value) return true;
  }
  return false;
}

function knowsIpv6(known: readonly IpAddress[], words: Ipv6Words): boolean {
  for (const host of known) {
    if (host.family === 6 && host.words[0] === words[0] && host.words[1] === words[1] && host.words[2] === words[2] && host.words[3] === words[3]) return true;
  }
  return false;
}

/**
 * Whether a dial to `address` lands on one of `known`: some form of it (hostForms), as delivered
 * (dialled*), is listed. Walks the forms instead of building them: this runs before every dial.
 */
function reachesAny(address: IpAddress, known: readonly IpAddress[]): boolean {
  if (address.family === 4) return knowsIpv4(known, dialledIpv4(address.value));
  const { words } = address;
  const kind = embeddingOf(words);
  if (kind !== 'mapped' && knowsIpv6(known, dialledIpv6(words))) return true;
  if (kind === undefined) return false;
  for (let index = 0; index < embeddedCount(kind); index++) {
    if (knowsIpv4(known, dialledIpv4(embeddedAt(words, kind, index)))) return true;
  }
  return false;
}

export function createOwnListeners(
  interfaceAddresses: () => readonly string[] = systemInterfaceAddresses,
  now: () => number = Date.now,
): OwnListeners {
  // Port → the hosts listening on it on one address (each in every form hostForms gives).
  let exact: ReadonlyMap<number, readonly IpAddress[]> = new Map();
  let wildcardPorts: ReadonlySet<number> = new Set<number>();
  let interfaceHosts: readonly IpAddress[] = [];
  let interfacesReadAt = Number.NEGATIVE_INFINITY;

  function localInterfaceHosts(): readonly IpAddress[] {
    const time = now();
    if (time - interfacesReadAt >= INTERFACE_REFRESH_MS) {
      const hosts: IpAddress[] = [];
      for (const text of interfaceAddresses()) {
        const parsed = parseIp(text);
        if (parsed !== undefined) hosts.push(...hostForms(parsed));
      }
      interfaceHosts = hosts;
      interfacesReadAt = time;
    }
    return interfaceHosts;
  }

  return {
    set(listeners) {
      const nextExact = new Map<number, IpAddress[]>();
      const nextWildcard = new Set<number>();
      for (const { address, port } of listeners) {
        const parsed = parseIp(address);
        // Unparsable (a host name) is treated like a wildcard: over-refusing beats a loop.
        if (parsed === undefined || classifyIp(parsed)?.category === 'unspecified') {
          nextWildcard.add(port);
          continue;
        }
        let hosts = nextExact.get(port);
        if (hosts === undefined) {
          hosts = [];
          nextExact.set(port, hosts);
        }
        hosts.push(...hostForms(parsed));
      }
      exact = nextExact;
      wildcardPorts = nextWildcard;
      interfacesReadAt = Number.NEGATIVE_INFINITY;
    },
    // Allocation-free (see test/integration/net/own-listeners-allocation.test.ts): no arrays of
    // forms or bounds per call, and most calls end at the port lookups.
    includes(address, port) {
      const exactHere = exact.get(port);
      const wildcard = wildcardPorts.has(port);
      if (exactHere === undefined && !wildcard) return false;
      if (exactHere !== undefined && reachesAny(address, exactHere)) return true;
      if (!wildcard) return false;
      const category = ipCategory(address);
      if (category === 'loopback' || category === 'unspecified') return true;
      return reachesAny(address, localInterfaceHosts());
    },
  };
}
