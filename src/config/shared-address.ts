import { embeddingOf } from '../net/embedded-ipv4.js';
import { formatIp, formatIpv4, parseIp } from '../net/ip-address.js';
import { formatHostPort, type HostPort } from './host-port.js';
import type { FileConfig } from './schema.js';
import { DEFAULTS } from './where-is.js';

export interface SharedAddressIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/** The listener keys, in the order serve binds them: an issue names the later of two. */
const LISTENERS = ['listen', 'transparent', 'admin'] as const;

interface Address {
  /** An IP in canonical form, a name in lower case. */
  readonly host: string;
  readonly family: 4 | 6 | null;
}

interface Bound {
  readonly key: (typeof LISTENERS)[number];
  readonly port: number;
  /** The host as compared: an IP in canonical form, a name in lower case. */
  readonly host: string;
  /** Every address the bind may take: one for an IP or a name, both loopbacks for localhost. */
  readonly addresses: readonly Address[];
  /** A transparent listener on 127.0.0.1 binds [::1] at the same port too (src/app/transparent-listeners.ts). */
  readonly twin: Address | null;
}

const IPV6_LOOPBACK: Address = { host: '::1', family: 6 };

/**
 * `localhost` binds whichever loopback address the resolver gives first, 127.0.0.1 or ::1 (hosts
 * file order, gai.conf), so it counts as both: `localhost:P` beside `127.0.0.1:P` is caught here
 * rather than failing at the second bind. Other names are compared as written, never resolved.
 */
const LOCALHOST: readonly Address[] = [
  { host: '127.0.0.1', family: 4 },
  { host: '::1', family: 6 },
];

/**
 * Two listeners that would bind one address: the second bind fails with EADDRINUSE, but only after
 * the start has called the control plane and bound the first, so it is caught here, at load, naming
 * both keys (`whereOf` says where the earlier one came from, DEFAULTS when left to its default).
 * Port 0 gets a port of its own per listener. A wildcard address takes every address of its family
 * (`::` both, dual-stack); an IPv4-mapped address (`::ffff:127.0.0.1`) counts as its IPv4 form,
 * which its bind takes; `localhost` counts as 127.0.0.1 and ::1, and so does a transparent
 * listener on 127.0.0.1 (its IPv6 twin on ::1, for ip6tables' redirects); other names are compared
 * as written, never resolved.
 */
export function sharedAddressIssues(file: FileConfig, whereOf: (path: readonly string[]) => string): SharedAddressIssue[] {
  const bound: Bound[] = [];
  for (const key of LISTENERS) {
    const address = file[key];
    if (address === null || address.port === 0) continue;
    const seen = canonical(address);
    const twin = key === 'transparent' && seen.host === '127.0.0.1' ? IPV6_LOOPBACK : null;
    bound.push({ key, port: address.port, ...seen, twin });
  }
  const issues: SharedAddressIssue[] = [];
  for (const [index, later] of bound.entries()) {
    const earlier = bound.slice(0, index).find((other) => overlaps(other, later));
    if (earlier === undefined) continue;
    // Shared through a transparent listener's twin only: said so, since neither key names ::1.
    const viaTwin = !overlaps(earlier, later, false);
    const shown = formatHostPort(later) + (viaTwin && later.twin !== null ? `, whose IPv6 twin is [::1]:${later.port},` : '');
    const relation = earlier.host === later.host ? `is ${earlier.key}'s address too` : `overlaps ${viaTwin && earlier.twin !== null ? 'the IPv6 twin of ' : ''}${earlier.key}'s ${formatHostPort(earlier)}`;
    const from = whereOf([earlier.key]);
    issues.push({
      path: [later.key],
      message: `${shown} ${relation} (${from === DEFAULTS ? 'its default' : from}): each listener needs its own; give ${later.key} another port, or off`,
    });
  }
  return issues;
}

function canonical({ host }: HostPort): { readonly host: string; readonly addresses: readonly Address[] } {
  const ip = parseIp(host);
  if (ip !== undefined) {
    const shown = formatIp(ip);
    // ::ffff:a.b.c.d binds a.b.c.d itself (::ffff:0.0.0.0 every IPv4 address): compared as that.
    if (ip.family === 6 && embeddingOf(ip.words) === 'mapped') return { host: shown, addresses: [{ host: formatIpv4(ip.words[3]), family: 4 }] };
    return { host: shown, addresses: [{ host: shown, family: ip.family }] };
  }
  const name = host.toLowerCase();
  return { host: name, addresses: name === 'localhost' || name === 'localhost.' ? LOCALHOST : [{ host: name, family: null }] };
}

function overlaps(a: Bound, b: Bound, twins = true): boolean {
  if (a.port !== b.port) return false;
  if (a.host === b.host) return true;
  const all = (bound: Bound): readonly Address[] => (twins && bound.twin !== null ? [...bound.addresses, bound.twin] : bound.addresses);
  return all(a).some((x) => all(b).some((y) => x.host === y.host || takes(x, y) || takes(y, x)));
}

/** Whether a wildcard address `wildcard` takes the address `other` too. */
function takes(wildcard: Address, other: Address): boolean {
  if (other.family === null) return false;
  if (wildcard.host === '::') return true;
  return wildcard.host === '0.0.0.0' && other.family === 4;
}
