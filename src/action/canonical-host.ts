import { domainToASCII, domainToUnicode } from 'node:url';
import type { HostType } from '../contract/target.js';
import { formatIpv4, formatIpv6, parseIpv6 } from '../net/ip-address.js';
import { endsInNumber, parseNumericIpv4 } from './ipv4-numeric.js';
import { badRequest, parsed, type ParseResult } from './parse-result.js';

/**
 * One canonical text per destination, computed once, so that policy, cache keys, reports and the
 * dial all see the same host: what is decided is what is dialled.
 *
 * Order: Kaizen normalisation (NFKC, zero-width characters dropped, trim), then IPv6, then the
 * numeric IPv4 forms, then IDN → punycode (UTS 46 via node:url) and DNS label rules.
 */
export interface CanonicalHost {
  readonly host: string;
  readonly hostType: HostType;
}

/** Longer input is refused before any Unicode work (a name is at most 253 octets). */
const MAX_INPUT_LENGTH = 1024;
const MAX_NAME_LENGTH = 253;
const MAX_LABEL_LENGTH = 63;

/** U+200B-U+200F, U+2060, U+FEFF: dropped by Kaizen's normalisation before comparing names. */
const ZERO_WIDTH = /[\u200B-\u200F\u2060\uFEFF]/g;
/** Full stops that UTS 46 maps to "." (ideographic, fullwidth, halfwidth ideographic). */
const UNICODE_DOTS = /[\u3002\uFF0E\uFF61]/g;
/** ASCII allowed in a name before IDN processing; anything else (%, @, /, space, *) is refused. */
const ASCII_REFUSED = /[^\x80-\uFFFFa-zA-Z0-9._-]/;
const LABEL = /^[a-z0-9_-]+$/;
/**
 * Text that every step below would return unchanged: lower-case ASCII labels, no punycode, a last
 * label that cannot be a number; or a dotted quad without leading zeros. Most targets look like
 * this, and skipping NFKC and UTS 46 for them saves most of the parse (bench/: about 25 µs a tunnel).
 */
const CANONICAL_NAME = /^(?:[a-z0-9_-]{1,63}\.)*[a-z_-][a-z0-9_-]{0,62}$/;
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const CANONICAL_IPV4 = new RegExp(`^(?:${OCTET}\\.){3}${OCTET}$`);

/** Kaizen's normalisation: NFKC, zero-width characters dropped, trimmed. */
export function normaliseHostText(text: string): string {
  return text.normalize('NFKC').replace(ZERO_WIDTH, '').trim();
}

function canonicalIpv6(text: string): ParseResult<CanonicalHost> {
  if (text.includes('%')) return badRequest('IPv6 zone identifiers are not allowed in a target');
  const words = parseIpv6(text);
  if (words === undefined) return badRequest('invalid IPv6 address');
  return parsed({ host: formatIpv6(words), hostType: 'ipv6' });
}

function canonicalIpv4(text: string): ParseResult<CanonicalHost> {
  const value = parseNumericIpv4(text);
  if (value === undefined) return badRequest('invalid IPv4 address');
  return parsed({ host: formatIpv4(value), hostType: 'ipv4' });
}

function checkDnsName(name: string): ParseResult<CanonicalHost> {
  if (name.length > MAX_NAME_LENGTH) return badRequest('host name longer than 253 characters');
  for (const label of name.split('.')) {
    if (label.length === 0) return badRequest('host name has an empty label');
    if (label.length > MAX_LABEL_LENGTH) return badRequest('host name label longer than 63 characters');
    if (!LABEL.test(label)) return badRequest('host name has an invalid character');
  }
  return parsed({ host: name, hostType: 'dns' });
}

/**
 * An `xn--` label that is not valid punycode. Node 20's UTS 46 refuses those; Node 24's passes
 * them through unchanged, so each is checked here: it must decode to something else and encode back.
 */
function hasUndecodableLabel(ascii: string): boolean {
  for (const label of ascii.split('.')) {
    if (!label.startsWith('xn--')) continue;
    const unicode = domainToUnicode(label);
    if (unicode === '' || unicode === label || domainToASCII(unicode) !== label) return true;
  }
  return false;
}

/**
 * A host as a client wrote it (bare IPv6, no brackets) → canonical host and its type.
 * `2130706433` → 127.0.0.1 (ipv4); `Bücher.Example.` → xn--bcher-kva.example (dns);
 * `::FFFF:127.0.0.1` → ::ffff:127.0.0.1 (ipv6: the address guard judges the embedded IPv4).
 */
export function canonicalHost(host: string): ParseResult<CanonicalHost> {
  if (host.length > MAX_INPUT_LENGTH) return badRequest('host too long');
  if (host.length <= MAX_NAME_LENGTH && CANONICAL_NAME.test(host) && !host.includes('xn--')) {
    return parsed({ host, hostType: 'dns' });
  }
  if (CANONICAL_IPV4.test(host)) return parsed({ host, hostType: 'ipv4' });
  const text = normaliseHostText(host).replace(UNICODE_DOTS, '.');
  if (text.length === 0) return badRequest('empty host');
  if (text.includes(':')) return canonicalIpv6(text);
  if (ASCII_REFUSED.test(text)) return badRequest('host has an invalid character');
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  if (name.length === 0) return badRequest('empty host');
  if (endsInNumber(name)) return canonicalIpv4(name);
  const ascii = domainToASCII(name);
  if (ascii === '' || hasUndecodableLabel(ascii)) return badRequest('invalid international host name');
  // UTS 46 can map other Unicode digits to ASCII ones: judge the result again, never pass it raw.
  if (endsInNumber(ascii)) return canonicalIpv4(ascii);
  return checkDnsName(ascii);
}
