import { isIP } from 'node:net';
import { parseIp, type IpAddress } from './ip-address.js';
import { ipInRange, ipRange, ipv4InRange, ipv6InRange } from './ip-range.js';

/** An address range in canonical form; a bare address is a /32 or /128. */
export interface Cidr {
  readonly family: 4 | 6;
  readonly address: string;
  readonly prefix: number;
}

/** "10.0.0.0/8", "fd00::/8", "1.2.3.4" → Cidr; undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  const address = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const family = isIP(address);
  if (family !== 4 && family !== 6) return undefined;
  const max = family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const prefixText = trimmed.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText)) return undefined;
    prefix = Number(prefixText);
    if (prefix > max) return undefined;
  }
  return { family, address: address.toLowerCase(), prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

/** A Cidr compiled for matching; IPv4-mapped IPv6 (`::ffff:a.b.c.d`) and IPv4 match each other's ranges. */
export interface CidrMatcher {
  readonly cidr: Cidr;
  contains(address: IpAddress): boolean;
}

export function compileCidr(cidr: Cidr): CidrMatcher {
  const address = parseIp(cidr.address);
  if (address === undefined) throw new Error('compileCidr: the Cidr does not come from parseCidr');
  const range = ipRange(address, cidr.prefix);
  return {
    cidr,
    contains(candidate: IpAddress): boolean {
      if (candidate.family === range.family) return ipInRange(candidate, range);
      if (candidate.family === 6) {
        const [w0, w1, w2, w3] = candidate.words;
        return w0 === 0 && w1 === 0 && w2 === 0xffff && ipv4InRange(w3, range);
      }
      return ipv6InRange([0, 0, 0xffff, candidate.value], range);
    },
  };
}

/** Whether `address` (text) lies in `cidr` (text or parsed); false for malformed input. */
export function cidrContains(cidr: Cidr | string, address: string): boolean {
  const parsedCidr = typeof cidr === 'string' ? parseCidr(cidr) : cidr;
  const parsedAddress = parseIp(address);
  if (parsedCidr === undefined || parsedAddress === undefined) return false;
  return compileCidr(parsedCidr).contains(parsedAddress);
}
