import { domainToASCII } from 'node:url';
import { canonicalHost, normaliseHostText } from '../../action/canonical-host.js';
import { formatCidr, parseCidr } from '../../net/cidr.js';
import { formatIp, formatIpv4, formatIpv6, parseIpv4, parseIpv6, type IpAddress } from '../../net/ip-address.js';
import { ipRange } from '../../net/ip-range.js';

/**
 * One rule entry as written → its normalised form, or a short reason it is refused. Kaizen's
 * normalisation (NFKC, zero-width characters dropped, trimmed, lower-case) comes from src/action,
 * and hosts go through the same canonicaliser as targets, so a rule and a target that name the
 * same host compare equal whatever spelling either used.
 */
export type EntryResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly message: string };

/** Longest regular expression accepted in skill_patterns (and tool name matched against one). */
export const MAX_PATTERN_LENGTH = 256;
const MAX_ENTRY_LENGTH = 1024;

const ok = (value: string): EntryResult => ({ ok: true, value });
const refused = (message: string): EntryResult => ({ ok: false, message });

/** NFKC, zero-width characters dropped, trimmed, lower-case. */
export function normaliseText(text: string): string {
  return normaliseHostText(text).toLowerCase();
}

export function textEntry(raw: string): EntryResult {
  if (raw.length > MAX_ENTRY_LENGTH) return refused(`longer than ${MAX_ENTRY_LENGTH} characters`);
  const value = normaliseText(raw);
  return value === '' ? refused('empty') : ok(value);
}

/** Any character beyond ASCII: only such a publisher has a punycode form to take. */
const NON_ASCII = /[\u0080-\uffff]/;

/**
 * A publisher, normalised as its domain's labels are: NFKC, lower-case, then IDN to punycode, so
 * `bücher` names the publisher derived from `bücher.de` (`xn--bcher-kva`, src/action/publisher.ts
 * reads the punycode host). Text that is no IDN (UTS 46 refuses it) is kept as normalised.
 */
export function normalisePublisher(text: string): string {
  const value = normaliseText(text);
  if (!NON_ASCII.test(value)) return value;
  const ascii = domainToASCII(value);
  return ascii === '' ? value : ascii;
}

export function publisherEntry(raw: string): EntryResult {
  if (raw.length > MAX_ENTRY_LENGTH) return refused(`longer than ${MAX_ENTRY_LENGTH} characters`);
  const value = normalisePublisher(raw);
  return value === '' ? refused('empty') : ok(value);
}

/** A domain: itself and its subdomains; a leading `*.` is accepted and means the same. An IP literal matches only itself. */
export function domainEntry(raw: string): EntryResult {
  if (raw.length > MAX_ENTRY_LENGTH) return refused(`longer than ${MAX_ENTRY_LENGTH} characters`);
  let text = normaliseHostText(raw);
  if (text.startsWith('*.')) text = text.slice(2);
  if (text === '' || text === '*' || text === '.') return refused('matches every host; list the domains instead');
  const host = canonicalHost(text);
  if (!host.ok) return refused(`not a domain name (${host.message})`);
  return ok(host.value.host);
}

/**
 * An address or CIDR range, IPv4 or IPv6, in canonical text ("10.0.0.0/8", "::1/128"). A bare
 * address goes through the target canonicaliser (`2130706433` is 127.0.0.1, as in a target). A
 * range's address must be a dotted quad or IPv6: read as inet_aton would, the short forms name
 * another network (`10/8` is 0.0.0.10/8, `192.168/16` is 192.0.0.168/16), so they are refused
 * (Python's ip_network refuses them too) rather than silently blocking something else. Host bits
 * beyond the prefix are cleared (`10.0.0.1/8` is 10.0.0.0/8), as they always were here and as
 * upstream_no_proxy and allow_private read them: the network is unambiguous, and refusing it would
 * make a whole synced policy answer malformed over a spelling the control plane may accept.
 */
export function ipEntry(raw: string): EntryResult {
  if (raw.length > MAX_ENTRY_LENGTH) return refused(`longer than ${MAX_ENTRY_LENGTH} characters`);
  const text = normaliseText(raw);
  const slash = text.indexOf('/');
  if (slash >= 0) return rangeEntry(text.slice(0, slash), text.slice(slash));
  const host = canonicalHost(text);
  if (!host.ok || host.value.hostType === 'dns') return refused('not an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)');
  const cidr = parseCidr(host.value.host);
  return cidr === undefined ? refused('not an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)') : ok(formatCidr(cidr));
}

function rangeEntry(addressText: string, prefixText: string): EntryResult {
  const address = addressText.includes(':') ? ipv6Of(addressText) : ipv4Of(addressText);
  if (address === undefined) return refused('not a CIDR range: expected a dotted-quad IPv4 or an IPv6 address, then /prefix (e.g. 10.0.0.0/8, 2001:db8::/32)');
  const cidr = parseCidr(`${formatIp(address)}${prefixText}`);
  if (cidr === undefined) return refused('invalid prefix length');
  return ok(`${networkOf(address, cidr.prefix)}/${String(cidr.prefix)}`);
}

function ipv4Of(text: string): IpAddress | undefined {
  const value = parseIpv4(text);
  return value === undefined ? undefined : { family: 4, value };
}

/** No zone: a rule names an address, not an interface. */
function ipv6Of(text: string): IpAddress | undefined {
  const words = parseIpv6(text);
  return words === undefined ? undefined : { family: 6, words };
}

function networkOf(address: IpAddress, prefix: number): string {
  const range = ipRange(address, prefix);
  return range.family === 4 ? formatIpv4(range.base) : formatIpv6(range.base);
}

/** A regular expression on the tool name: length-capped and compiled here once to refuse it early. */
export function patternEntry(raw: string): EntryResult {
  if (raw.length === 0) return refused('empty');
  if (raw.length > MAX_PATTERN_LENGTH) return refused(`longer than ${MAX_PATTERN_LENGTH} characters`);
  try {
    anchoredPattern(raw);
  } catch (error) {
    return refused(`invalid regular expression (${error instanceof Error ? error.message : 'unknown'})`);
  }
  return ok(raw);
}

/**
 * The whole tool name must match (as Python's re.fullmatch); case-insensitive like every other
 * comparison. The source is compiled alone first: only a pattern that stands by itself is wrapped,
 * so `a)|(.*` cannot break out of the anchors.
 */
export function anchoredPattern(source: string): RegExp {
  new RegExp(source, 'i');
  return new RegExp(`^(?:${source})$`, 'i');
}
