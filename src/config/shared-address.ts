import { formatIp, parseIp } from '../net/ip-address.js';
import { formatHostPort, type HostPort } from './host-port.js';
import type { FileConfig } from './schema.js';
import { DEFAULTS } from './where-is.js';

export interface SharedAddressIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/** The listener keys, in the order serve binds them: an issue names the later of two. */
const LISTENERS = ['listen', 'transparent', 'admin'] as const;

interface Bound {
  readonly key: (typeof LISTENERS)[number];
  readonly port: number;
  /** The host as compared: an IP in canonical form, a name in lower case. */
  readonly host: string;
  readonly family: 4 | 6 | null;
}

/**
 * Two listeners that would bind one address: the second bind fails with EADDRINUSE, but only after
 * the start has called the control plane and bound the first, so it is caught here, at load, naming
 * both keys (`whereOf` says where the earlier one came from, DEFAULTS when left to its default).
 * Port 0 gets a port of its own per listener. A wildcard address takes every address of its family
 * (`::` both, dual-stack); names are compared as written, never resolved.
 */
export function sharedAddressIssues(file: FileConfig, whereOf: (path: readonly string[]) => string): SharedAddressIssue[] {
  const bound: Bound[] = [];
  for (const key of LISTENERS) {
    const address = file[key];
    if (address !== null && address.port !== 0) bound.push({ key, port: address.port, ...canonical(address) });
  }
  const issues: SharedAddressIssue[] = [];
  for (const [index, later] of bound.entries()) {
    const earlier = bound.slice(0, index).find((other) => overlaps(other, later));
    if (earlier === undefined) continue;
    const shown = formatHostPort(later);
    const relation = earlier.host === later.host ? `is ${earlier.key}'s address too` : `overlaps ${earlier.key}'s ${formatHostPort(earlier)}`;
    const from = whereOf([earlier.key]);
    issues.push({
      path: [later.key],
      message: `${shown} ${relation} (${from === DEFAULTS ? 'its default' : from}): each listener needs its own; give ${later.key} another port, or off`,
    });
  }
  return issues;
}

function canonical({ host }: HostPort): { readonly host: string; readonly family: 4 | 6 | null } {
  const ip = parseIp(host);
  return ip === undefined ? { host: host.toLowerCase(), family: null } : { host: formatIp(ip), family: ip.family };
}

function overlaps(a: Bound, b: Bound): boolean {
  if (a.port !== b.port) return false;
  return a.host === b.host || takes(a, b) || takes(b, a);
}

/** Whether a wildcard listener `wildcard` takes the address of `other` too. */
function takes(wildcard: Bound, other: Bound): boolean {
  if (other.family === null) return false;
  if (wildcard.host === '::') return true;
  return wildcard.host === '0.0.0.0' && other.family === 4;
}
