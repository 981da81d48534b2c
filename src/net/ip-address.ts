/**
 * IP address text ↔ fixed-width value. IPv4 is one unsigned 32-bit number, IPv6 four of them
 * (most significant first), so range checks are a few masks and compares, with no allocation
 * beyond the parse itself. This runs on every connection: no regular expressions, no bigint.
 *
 * Parsing is strict: IPv4 only as dotted-quad decimal without leading zeros (the form resolvers and
 * sockets produce); lenient forms (`0x7f.1`, `2130706433`) are the job of src/action/ipv4-numeric.ts.
 */
export type Ipv6Words = readonly [number, number, number, number];

export type IpAddress =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly words: Ipv6Words };

const CODE_0 = 48;
const CODE_9 = 57;
const CODE_DOT = 46;
const CODE_COLON = 58;

/** Strict dotted quad ("192.0.2.1") → unsigned 32-bit value; undefined otherwise. */
export function parseIpv4(text: string, start = 0, end = text.length): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === CODE_DOT) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (code >= CODE_0 && code <= CODE_9) {
      if (digits > 0 && part === 0) return undefined; // leading zero: octal in some parsers, refuse
      part = part * 10 + (code - CODE_0);
      digits++;
      if (part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || dots !== 3) return undefined;
  return value * 256 + part;
}

function hexValue(code: number): number {
  if (code >= CODE_0 && code <= CODE_9) return code - CODE_0;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/**
 * IPv6 text → four words. Accepts the RFC 4291 forms (one `::`, 1-4 hex digits per group, a
 * trailing dotted quad); a zone suffix (`%eth0`) is accepted and dropped only when `allowZone`.
 */
export function parseIpv6(text: string, allowZone = false): Ipv6Words | undefined {
  let end = text.length;
  const percent = text.indexOf('%');
  if (percent >= 0) {
    if (!allowZone || percent === end - 1) return undefined;
    end = percent;
  }
  const groups: number[] = [];
  let gap = -1; // index in groups where "::" stands
  let i = 0;
  if (end >= 2 && text.charCodeAt(0) === CODE_COLON) {
    if (text.charCodeAt(1) !== CODE_COLON) return undefined;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    if (groups.length === 8) return undefined;
    let j = i;
    let group = 0;
    while (j < end && j - i < 5) {
      const digit = hexValue(text.charCodeAt(j));
      if (digit < 0) break;
      group = group * 16 + digit;
      j++;
    }
    const next = j < end ? text.charCodeAt(j) : -1;
    if (next === CODE_DOT) {
      // Trailing dotted quad: takes the last two groups.
      if (groups.length > 6) return undefined;
      const v4 = parseIpv4(text, i, end);
      if (v4 === undefined) return undefined;
      groups.push(v4 >>> 16, v4 & 0xffff);
      break;
    }
    if (j === i || j - i > 4) return undefined;
    groups.push(group);
    if (next === -1) break;
    if (next !== CODE_COLON) return undefined;
    if (j + 1 < end && text.charCodeAt(j + 1) === CODE_COLON) {
      if (gap >= 0) return undefined;
      gap = groups.length;
      i = j + 2;
    } else {
      if (j + 1 === end) return undefined; // trailing single colon
      i = j + 1;
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return undefined;
  // Group k of the full address: before the gap as parsed, zeros in it, then the rest shifted.
  const zeros = 8 - groups.length;
  const at = (k: number): number => (gap < 0 || k < gap ? groups[k] : k < gap + zeros ? 0 : groups[k - zeros]) ?? 0;
  return [
    ((at(0) << 16) | at(1)) >>> 0,
    ((at(2) << 16) | at(3)) >>> 0,
    ((at(4) << 16) | at(5)) >>> 0,
    ((at(6) << 16) | at(7)) >>> 0,
  ];
}

/** Either family; IPv6 zone suffixes (as resolvers return them for link-local) are dropped. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const words = parseIpv6(text, true);
    return words === undefined ? undefined : { family: 6, words };
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

/**
 * RFC 5952 text: lower-case, no leading zeros, the longest run (two groups or more, the first on a
 * tie) of zero groups as `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d`.
 */
export function formatIpv6(words: Ipv6Words): string {
  const [w0, w1, w2, w3] = words;
  if (w0 === 0 && w1 === 0 && w2 === 0xffff) return `::ffff:${formatIpv4(w3)}`;
  const groups = [w0 >>> 16, w0 & 0xffff, w1 >>> 16, w1 & 0xffff, w2 >>> 16, w2 & 0xffff, w3 >>> 16, w3 & 0xffff];
  let bestStart = -1;
  let bestLength = 1;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      if (i - runStart > bestLength) {
        bestStart = runStart;
        bestLength = i - runStart;
      }
      runStart = -1;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

export function formatIp(ip: IpAddress): string {
  return ip.family === 4 ? formatIpv4(ip.value) : formatIpv6(ip.words);
}
