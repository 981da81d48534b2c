import { canonicalHost, normaliseHostText } from '../../action/canonical-host.js';
import { formatCidr, parseCidr } from '../../net/cidr.js';

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

/** An address or CIDR range, IPv4 or IPv6, in canonical text ("10.0.0.0/8", "::1/128"). */
export function ipEntry(raw: string): EntryResult {
  if (raw.length > MAX_ENTRY_LENGTH) return refused(`longer than ${MAX_ENTRY_LENGTH} characters`);
  const text = normaliseText(raw);
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const host = canonicalHost(addressText);
  if (!host.ok || host.value.hostType === 'dns') return refused('not an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)');
  const cidr = parseCidr(slash < 0 ? host.value.host : `${host.value.host}${text.slice(slash)}`);
  if (cidr === undefined) return refused('invalid prefix length');
  return ok(formatCidr(cidr));
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
