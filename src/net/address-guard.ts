import { CATEGORY_DESCRIPTIONS, classifyEmbedded, classifyIp, type AddressCategory, type EmbeddedVia } from './address-class.js';
import { compileCidr, parseCidr, type CidrMatcher } from './cidr.js';
import { formatIp, formatIpv4, parseIp, type IpAddress } from './ip-address.js';
import { createOwnListeners, type Listener } from './own-listeners.js';

/**
 * The last check before a dial: the resolved address must be public (or inside a range the
 * operator opened with network.allow_private), and must never be the proxy's own listener.
 * Runs on the addresses that will be dialled, after DNS, so a name that resolves to
 * 169.254.169.254 is refused like the literal.
 */
export interface GuardRefusal {
  readonly ok: false;
  readonly category: AddressCategory | 'own_listener';
  readonly address: string;
  /** Safe to show a client and to log, e.g. "destination 169.254.169.254 is a cloud metadata address". */
  readonly reason: string;
}

export type GuardResult = { readonly ok: true } | GuardRefusal;

export interface AddressGuard {
  check(address: string, port: number): GuardResult;
  /** Refuses if any address is refused (the first refusal is returned), or if there is none. */
  checkAll(addresses: readonly string[], port: number): GuardResult;
  setOwnListeners(listeners: readonly Listener[]): void;
}

export interface AddressGuardOptions {
  /** CIDR texts (validated by the config schema) opened despite their category. */
  readonly allowPrivate: readonly string[];
  /** Local interface addresses, for listeners on a wildcard address; defaults to os.networkInterfaces(). */
  readonly interfaceAddresses?: () => readonly string[];
  /** Clock for the interface address refresh; defaults to Date.now. */
  readonly now?: () => number;
}

const ALLOWED: GuardResult = Object.freeze({ ok: true });

function refusal(category: GuardRefusal['category'], address: string, reason: string): GuardRefusal {
  return { ok: false, category, address, reason };
}

export function createAddressGuard(options: AddressGuardOptions): AddressGuard {
  const opened: CidrMatcher[] = options.allowPrivate.map((text) => {
    const cidr = parseCidr(text);
    // Config validation already refused these; a bad range reaching here is a programming error.
    if (cidr === undefined) throw new Error(`address guard: invalid allow_private range ${JSON.stringify(text)}`);
    return compileCidr(cidr);
  });
  const own = createOwnListeners(options.interfaceAddresses, options.now);

  function refuse(parsed: IpAddress, category: GuardRefusal['category'], port: number, via?: EmbeddedVia): GuardRefusal {
    const canonical = formatIp(parsed);
    if (category === 'own_listener') {
      return refusal(category, canonical, `destination ${canonical} port ${port} is the proxy itself`);
    }
    const description = CATEGORY_DESCRIPTIONS[category];
    // A mapped address already reads as its IPv4 (::ffff:10.0.0.1); the others need it spelled out.
    const inner = via !== undefined && via.kind !== 'mapped' ? ` (embedded IPv4 ${formatIpv4(via.ipv4)})` : '';
    return refusal(category, canonical, `destination ${canonical} is ${description}${inner}`);
  }

  function check(address: string, port: number): GuardResult {
    const parsed = parseIp(address);
    if (parsed === undefined) return refusal('invalid', address, 'destination is not a valid IP address');
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return refusal('invalid', formatIp(parsed), 'destination port is not valid');
    }
    if (own.includes(parsed, port)) return refuse(parsed, 'own_listener', port);
    const found = classifyIp(parsed);
    if (found === null) return ALLOWED;
    if (found.via === undefined || parsed.family !== 6) {
      return opened.some((matcher) => matcher.contains(parsed)) ? ALLOWED : refuse(parsed, found.category, port);
    }
    // An IPv6 address that carries a non-public IPv4 (mapped, NAT64, 6to4, Teredo...) reaches that
    // IPv4, so it is opened only when every such IPv4 is inside a range (an IPv4 one, or an
    // IPv4-mapped one): an IPv6 range around the address itself (::/0, 64:ff9b::/96) does not
    // open the IPv4s inside it. A Teredo address carries two; the refusal names the one not opened.
    for (const inner of classifyEmbedded(parsed.words)) {
      const ipv4: IpAddress = { family: 4, value: inner.via.ipv4 };
      if (!opened.some((matcher) => matcher.contains(ipv4))) return refuse(parsed, inner.category, port, inner.via);
    }
    return ALLOWED;
  }

  return {
    check,
    checkAll(addresses, port) {
      if (addresses.length === 0) return refusal('invalid', '', 'no destination address to check');
      for (const address of addresses) {
        const result = check(address, port);
        if (!result.ok) return result;
      }
      return ALLOWED;
    },
    setOwnListeners(listeners) {
      own.set(listeners);
    },
  };
}
