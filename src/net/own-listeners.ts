import { networkInterfaces } from 'node:os';
import { classifyIp } from './address-class.js';
import { embeddedIpv4 } from './embedded-ipv4.js';
import { parseIp, type IpAddress } from './ip-address.js';

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

const IPV4_LOOPBACK: IpAddress = { family: 4, value: 0x7f000001 };
const IPV6_LOOPBACK: IpAddress = { family: 6, words: [0, 0, 0, 1] };

/**
 * Where Linux delivers a dial: with no source address bound (the proxy binds none), a connect()
 * to 0.0.0.0 goes to 127.0.0.1 and one to :: goes to ::1. Measured with net.connect on Linux 6.18:
 * 0.0.0.0 and ::ffff:0.0.0.0 reach a listener on 127.0.0.1, not one on 127.0.0.2, ::1 or an
 * interface address; :: reaches a listener on ::1 only; 0.0.0.1 and the rest of 0.0.0.0/8 reach
 * none. So the unspecified address stands for loopback here, not for every local address.
 */
function dialledHost(host: IpAddress): IpAddress {
  if (host.family === 4) return host.value === 0 ? IPV4_LOOPBACK : host;
  const [w0, w1, w2, w3] = host.words;
  return (w0 | w1 | w2 | w3) === 0 ? IPV6_LOOPBACK : host;
}

function sameHost(a: IpAddress, b: IpAddress): boolean {
  if (a.family === 4) return b.family === 4 && a.value === b.value;
  if (b.family !== 6) return false;
  return a.words[0] === b.words[0] && a.words[1] === b.words[1] && a.words[2] === b.words[2] && a.words[3] === b.words[3];
}

function anySame(candidates: readonly IpAddress[], known: readonly IpAddress[]): boolean {
  return candidates.some((candidate) => known.some((host) => sameHost(candidate, host)));
}

interface Bound {
  readonly host: IpAddress;
  readonly port: number;
}

export function createOwnListeners(
  interfaceAddresses: () => readonly string[] = systemInterfaceAddresses,
  now: () => number = Date.now,
): OwnListeners {
  let exact: readonly Bound[] = [];
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
      const nextExact: Bound[] = [];
      const nextWildcard = new Set<number>();
      for (const { address, port } of listeners) {
        const parsed = parseIp(address);
        // Unparsable (a host name) is treated like a wildcard: over-refusing beats a loop.
        if (parsed === undefined || classifyIp(parsed)?.category === 'unspecified') {
          nextWildcard.add(port);
        } else {
          for (const host of hostForms(parsed)) nextExact.push({ host, port });
        }
      }
      exact = nextExact;
      wildcardPorts = nextWildcard;
      interfacesReadAt = Number.NEGATIVE_INFINITY;
    },
    includes(address, port) {
      const exactHere = exact.filter((bound) => bound.port === port);
      if (exactHere.length === 0 && !wildcardPorts.has(port)) return false;
      const forms = hostForms(address).map(dialledHost);
      if (anySame(forms, exactHere.map((bound) => bound.host))) return true;
      if (!wildcardPorts.has(port)) return false;
      const category = classifyIp(address)?.category;
      if (category === 'loopback' || category === 'unspecified') return true;
      return anySame(forms, localInterfaceHosts());
    },
  };
}
