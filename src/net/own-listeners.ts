import { networkInterfaces } from 'node:os';
import { classifyIp } from './address-class.js';
import { embeddedIpv4 } from './embedded-ipv4.js';
import { formatIp, formatIpv4, parseIp, type IpAddress } from './ip-address.js';

/**
 * The proxy's own listening sockets, so that it never dials itself (a loop, and a way around
 * gateway authentication). A listener on a wildcard address (0.0.0.0 or ::) is reachable on every
 * local interface address and on loopback, so all of those count as "own" at its port.
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

/** One text key per host: IPv4-mapped IPv6 collapses to IPv4, so `::ffff:127.0.0.1` equals `127.0.0.1`. */
function hostKeys(address: IpAddress): readonly string[] {
  if (address.family === 4) return [formatIpv4(address.value)];
  const embedded = embeddedIpv4(address.words);
  if (embedded === undefined) return [formatIp(address)];
  const keys = embedded.addresses.map(formatIpv4);
  return embedded.kind === 'mapped' ? keys : [formatIp(address), ...keys];
}

export function createOwnListeners(
  interfaceAddresses: () => readonly string[] = systemInterfaceAddresses,
  now: () => number = Date.now,
): OwnListeners {
  let exact = new Set<string>();
  let wildcardPorts = new Set<number>();
  let interfaceKeys = new Set<string>();
  let interfacesReadAt = Number.NEGATIVE_INFINITY;

  function localInterfaceKeys(): ReadonlySet<string> {
    const time = now();
    if (time - interfacesReadAt >= INTERFACE_REFRESH_MS) {
      const keys = new Set<string>();
      for (const text of interfaceAddresses()) {
        const parsed = parseIp(text);
        if (parsed !== undefined) for (const key of hostKeys(parsed)) keys.add(key);
      }
      interfaceKeys = keys;
      interfacesReadAt = time;
    }
    return interfaceKeys;
  }

  return {
    set(listeners) {
      const nextExact = new Set<string>();
      const nextWildcard = new Set<number>();
      for (const { address, port } of listeners) {
        const parsed = parseIp(address);
        const category = parsed === undefined ? 'invalid' : classifyIp(parsed)?.category;
        // Unparsable (a host name) is treated like a wildcard: over-refusing beats a loop.
        if (parsed === undefined || category === 'unspecified' || category === 'invalid') {
          nextWildcard.add(port);
        } else {
          for (const key of hostKeys(parsed)) nextExact.add(`${key}|${port}`);
        }
      }
      exact = nextExact;
      wildcardPorts = nextWildcard;
      interfacesReadAt = Number.NEGATIVE_INFINITY;
    },
    includes(address, port) {
      const keys = hostKeys(address);
      if (keys.some((key) => exact.has(`${key}|${port}`))) return true;
      if (!wildcardPorts.has(port)) return false;
      const category = classifyIp(address)?.category;
      if (category === 'loopback' || category === 'unspecified') return true;
      const local = localInterfaceKeys();
      return keys.some((key) => local.has(key));
    },
  };
}
