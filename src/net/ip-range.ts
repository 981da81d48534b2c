import { parseIp, type IpAddress, type Ipv6Words } from './ip-address.js';

/**
 * An address range compiled to masks, so that membership is a handful of integer operations.
 * Built once (at module load or config time), matched on every connection.
 */
export type IpRange =
  | { readonly family: 4; readonly base: number; readonly mask: number; readonly prefix: number }
  | { readonly family: 6; readonly base: Ipv6Words; readonly mask: Ipv6Words; readonly prefix: number };

function mask32(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** A range from an address and prefix length; host bits of the address are cleared. */
export function ipRange(address: IpAddress, prefix: number): IpRange {
  if (address.family === 4) {
    const mask = mask32(prefix);
    return { family: 4, base: (address.value & mask) >>> 0, mask, prefix };
  }
  const mask: Ipv6Words = [mask32(prefix), mask32(prefix - 32), mask32(prefix - 64), mask32(prefix - 96)];
  const [a, b, c, d] = address.words;
  const base: Ipv6Words = [(a & mask[0]) >>> 0, (b & mask[1]) >>> 0, (c & mask[2]) >>> 0, (d & mask[3]) >>> 0];
  return { family: 6, base, mask, prefix };
}

/** "10.0.0.0/8" → range; for tables written in source, so a typo fails loudly at load. */
export function ipRangeOf(text: string): IpRange {
  const slash = text.indexOf('/');
  const address = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (address === undefined) throw new Error(`invalid range in source: ${text}`);
  const prefix = slash < 0 ? (address.family === 4 ? 32 : 128) : Number(text.slice(slash + 1));
  return ipRange(address, prefix);
}

export function ipv4InRange(value: number, range: IpRange): boolean {
  return range.family === 4 && ((value & range.mask) >>> 0) === range.base;
}

export function ipv6InRange(words: Ipv6Words, range: IpRange): boolean {
  if (range.family !== 6) return false;
  const { base, mask } = range;
  return (
    ((words[0] & mask[0]) >>> 0) === base[0] &&
    ((words[1] & mask[1]) >>> 0) === base[1] &&
    ((words[2] & mask[2]) >>> 0) === base[2] &&
    ((words[3] & mask[3]) >>> 0) === base[3]
  );
}

/** Same family only; mapping between families is the caller's decision. */
export function ipInRange(address: IpAddress, range: IpRange): boolean {
  return address.family === 4 ? ipv4InRange(address.value, range) : ipv6InRange(address.words, range);
}
