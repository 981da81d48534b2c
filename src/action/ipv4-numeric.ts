/**
 * The IPv4 forms that resolvers (inet_aton) and URL parsers (WHATWG) accept besides the dotted
 * quad: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last part fills the
 * remaining bytes. `2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1` and `0x7f000001` all name
 * 127.0.0.1. Such a host must be turned into its address here, never handed to a resolver raw.
 */

/** Value of one part, or undefined when it is not a number in any of the three bases. */
function parsePart(part: string): number | undefined {
  let radix = 10;
  let digits = part;
  if (part.length >= 2 && part[0] === '0' && (part[1] === 'x' || part[1] === 'X')) {
    radix = 16;
    digits = part.slice(2);
  } else if (part.length >= 2 && part[0] === '0') {
    radix = 8;
    digits = part.slice(1);
  }
  if (digits.length === 0) return undefined; // "" or a bare "0x": ambiguous between parsers, refuse
  const pattern = radix === 16 ? /^[0-9a-fA-F]+$/ : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!pattern.test(digits)) return undefined;
  // Beyond 2^32 the exact value no longer matters: it is refused below. Long strings stay huge.
  return parseInt(digits, radix);
}

/**
 * WHATWG "ends in a number": the last label (ignoring one trailing dot) is all digits, or a
 * 0x-prefixed hex number. Such a host is an IPv4 address or nothing; it is never a DNS name.
 */
export function endsInNumber(host: string): boolean {
  const labels = host.split('.');
  if (labels.length > 1 && labels[labels.length - 1] === '') labels.pop();
  const last = labels[labels.length - 1] ?? '';
  if (last.length === 0) return false;
  if (/^[0-9]+$/.test(last)) return true;
  return /^0[xX][0-9a-fA-F]*$/.test(last);
}

/** Any accepted numeric form → unsigned 32-bit value; undefined when it is not a valid address. */
export function parseNumericIpv4(host: string): number | undefined {
  const parts = host.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return undefined;
  const values: number[] = [];
  for (const part of parts) {
    const value = parsePart(part);
    if (value === undefined) return undefined;
    values.push(value);
  }
  const last = values.pop();
  if (last === undefined) return undefined;
  if (values.some((value) => value > 255)) return undefined;
  if (last >= 256 ** (4 - values.length)) return undefined;
  let address = last;
  values.forEach((value, index) => {
    address += value * 256 ** (3 - index);
  });
  return address;
}
