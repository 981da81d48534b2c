import type { HostType, Target } from '../contract/target.js';
import { canonicalHost } from './canonical-host.js';
import { badRequest, parsed, type ParseResult } from './parse-result.js';

export type { ParseResult } from './parse-result.js';
export { canonicalHost, type CanonicalHost } from './canonical-host.js';

/** An authority is at most a 253-octet name (or a 45-character IPv6 in brackets) and a port. */
const MAX_AUTHORITY_LENGTH = 1024;
/** Refused anywhere in a CONNECT authority besides controls and spaces: userinfo, path, query, fragment, percent-encoding. */
const AUTHORITY_REFUSED = /[@/?#\\%]/;

/** Controls, space and DEL; a regular expression for these would need control characters in source. */
function hasControlOrSpace(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) return true;
  }
  return false;
}

function parsePort(text: string): ParseResult<number> {
  if (text.length === 0) return badRequest('missing port');
  if (!/^[0-9]{1,5}$/.test(text)) return badRequest('invalid port');
  const port = Number(text);
  if (port < 1 || port > 65535) return badRequest('port out of range 1-65535');
  return parsed(port);
}

export function formatAuthority(host: string, hostType: HostType, port: number): string {
  return hostType === 'ipv6' ? `[${host}]:${port}` : `${host}:${port}`;
}

function target(host: string, hostType: HostType, port: number): Target {
  return { host, hostType, port, authority: formatAuthority(host, hostType, port) };
}

/** Authorities remembered with what they parse to; past this many the memo starts over. */
const MEMO_ENTRIES = 4096;
/** Longer authorities (rare, and mostly refused) are parsed every time rather than kept. */
const MEMO_MAX_LENGTH = 300;
const memo = new Map<string, ParseResult<Target>>();

/**
 * The authority of a CONNECT request: `host:port` or `[ipv6]:port`, split on the last colon
 * outside brackets. Everything else (no port, port 0, userinfo, a path, an unbracketed IPv6) is refused.
 * Agents reach the same few hosts over and over, so results are remembered (frozen, so a shared
 * one cannot be changed by its users): a repeat costs one Map lookup instead of the checks and the
 * canonicalisation (IDN included).
 */
export function parseAuthority(text: string): ParseResult<Target> {
  const known = memo.get(text);
  if (known !== undefined) return known;
  const result = parseAuthorityText(text);
  if (text.length <= MEMO_MAX_LENGTH) {
    if (memo.size >= MEMO_ENTRIES) memo.clear();
    if (result.ok) Object.freeze(result.value);
    memo.set(text, Object.freeze(result));
  }
  return result;
}

function parseAuthorityText(text: string): ParseResult<Target> {
  if (text.length === 0) return badRequest('empty target');
  if (text.length > MAX_AUTHORITY_LENGTH) return badRequest('target too long');
  if (hasControlOrSpace(text) || AUTHORITY_REFUSED.test(text)) return badRequest('target has an invalid character');
  let hostText: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return badRequest('unterminated IPv6 literal');
    if (close === text.length - 1) return badRequest('missing port');
    if (text[close + 1] !== ':') return badRequest('unexpected characters after IPv6 literal');
    hostText = text.slice(1, close);
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return badRequest('missing port');
    hostText = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (hostText.includes(':')) return badRequest('IPv6 literal must be in brackets');
    if (hostText.includes('[') || hostText.includes(']')) return badRequest('target has an invalid character');
  }
  if (hostText.length === 0) return badRequest('empty host');
  const port = parsePort(portText);
  if (!port.ok) return port;
  const host = canonicalHost(hostText);
  if (!host.ok) return host;
  const bracketed = text.startsWith('[');
  if (bracketed !== (host.value.hostType === 'ipv6')) {
    return badRequest(bracketed ? 'only IPv6 literals go in brackets' : 'IPv6 literal must be in brackets');
  }
  return parsed(target(host.value.host, host.value.hostType, port.value));
}

/**
 * Host and port of an absolute-form URL (`new URL(...)` gives `[::1]` with brackets; a bare IPv6 is
 * accepted too). The port is the URL's explicit one or the scheme default, chosen by the caller.
 */
export function targetFromParts(host: string, port: number): ParseResult<Target> {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return badRequest('port out of range 1-65535');
  const bracketed = host.startsWith('[') && host.endsWith(']') && host.length >= 2;
  const bare = bracketed ? host.slice(1, -1) : host;
  if (bare.includes('[') || bare.includes(']')) return badRequest('host has an invalid character');
  const canonical = canonicalHost(bare);
  if (!canonical.ok) return canonical;
  if (bracketed && canonical.value.hostType !== 'ipv6') return badRequest('only IPv6 literals go in brackets');
  return parsed(target(canonical.value.host, canonical.value.hostType, port));
}
