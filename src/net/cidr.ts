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

/**
 * A Cidr compiled for matching. An address matches a range of its own family; across families
 * only through IPv4-mapped IPv6 (`::ffff:a.b.c.d`, the same host on a dual-stack socket): a mapped
 * address matches an IPv4 range holding its IPv4, and an IPv4 address matches an IPv6 range only
 * when that range lies wholly inside ::ffff:0:0/96 (`::ffff:10.0.0.0/104`), which names IPv4
 * hosts. A wider IPv6 range (`::/0`, `::/64`, `::/80`) names IPv6 hosts: it holds
 * `::ffff:10.0.0.1` as an IPv6 address but not 10.0.0.1.
 */
export interface CidrMatcher {
  readonly cidr: Cidr;
  contains(address: IpAddress): boolean;
}

export function compileCidr(cidr: Cidr): CidrMatcher {
  const address = parseIp(cidr.address);
  if (address === undefined) throw new Error('compileCidr: the Cidr does not come from parseCidr');
  const range = ipRange(address, cidr.prefix);
  const mappedOnly = range.family === 6 && range.prefix >= 96 && range.base[0] === 0 && range.base[1] === 0 && range.base[2] === 0xffff;
  return {
    cidr,
    contains(candidate: IpAddress): boolean {
      if (candidate.family === range.family) return ipInRange(candidate, range);
      if (candidate.family === 6) {
        const [w0, w1, w2, w3] = candidate.words;
        return w0 === 0 && w1 === 0 && w2 === 0xffff && ipv4InRange(w3, range);
      }
      return mappedOnly && ipv6InRange([0, 0, 0xffff, candidate.value], range);
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
