import { isIP } from 'node:net';
import { compileCidr, parseCidr, type CidrMatcher } from './cidr.js';
import { parseIp } from './ip-address.js';

/**
 * `upstream_no_proxy` and NO_PROXY entries, as curl reads them: `*` (everything direct), a domain
 * (itself and every subdomain; a leading `.` or `*.` means the same), an IP address or CIDR range
 * (IP-literal destinations only: no name is resolved to decide a route), each with an optional
 * `:port`. Matching is on the canonical destination host (lower-case, no trailing dot).
 */
export type NoProxyMatcher = (host: string, port: number) => boolean;

type Rule =
  | { readonly kind: 'all' }
  | { readonly kind: 'domain'; readonly domain: string; readonly port: number | null }
  | { readonly kind: 'range'; readonly range: CidrMatcher; readonly port: number | null };

/** The entry in canonical form, or an error message (for the configuration). */
export function normaliseNoProxyEntry(text: string): string | { readonly error: string } {
  const rule = parseRule(text);
  if (rule === undefined) return { error: 'expected *, a domain, an IP address or a CIDR range, optionally with :port' };
  switch (rule.kind) {
    case 'all':
      return '*';
    case 'domain':
      return rule.port === null ? rule.domain : `${rule.domain}:${rule.port}`;
    case 'range': {
      const { address, prefix, family } = rule.range.cidr;
      const base = prefix === (family === 4 ? 32 : 128) ? address : `${address}/${prefix}`;
      if (rule.port === null) return base;
      return family === 6 ? `[${base}]:${rule.port}` : `${base}:${rule.port}`;
    }
  }
}

/** A NO_PROXY list split on commas and spaces, empty entries dropped. */
export function splitNoProxy(text: string): string[] {
  return text.split(/[\s,]+/).filter((entry) => entry !== '');
}

/** Entries that do not parse are skipped (the configuration already refused them). */
export function compileNoProxy(entries: readonly string[]): NoProxyMatcher {
  const rules = entries.map(parseRule).filter((rule): rule is Rule => rule !== undefined);
  if (rules.length === 0) return () => false;
  if (rules.some((rule) => rule.kind === 'all')) return () => true;
  return (host, port) => {
    const canonical = host.toLowerCase().replace(/\.$/, '');
    const ip = isIP(canonical) === 0 ? undefined : parseIp(canonical);
    return rules.some((rule) => {
      switch (rule.kind) {
        case 'all':
          return true;
        case 'domain':
          return (rule.port === null || rule.port === port) && ip === undefined && (canonical === rule.domain || canonical.endsWith(`.${rule.domain}`));
        case 'range':
          return (rule.port === null || rule.port === port) && ip !== undefined && rule.range.contains(ip);
      }
    });
  };
}

function parseRule(text: string): Rule | undefined {
  const entry = text.trim().toLowerCase();
  if (entry === '*') return { kind: 'all' };
  const { host, port } = splitPort(entry);
  if (port === undefined || host === '') return undefined;
  const range = parseCidr(host);
  if (range !== undefined) return { kind: 'range', range: compileCidr(range), port };
  const domain = host.replace(/^\*?\./, '').replace(/\.$/, '');
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(domain)) return undefined;
  return { kind: 'domain', domain, port };
}

/** `[v6]:port`, `host:port`, a bare v6 (several colons) or a bare host; port undefined when malformed. */
function splitPort(entry: string): { readonly host: string; readonly port: number | null | undefined } {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close < 0) return { host: '', port: undefined };
    const rest = entry.slice(close + 1);
    return { host: entry.slice(1, close), port: rest === '' ? null : portOf(rest.replace(/^:/, '')) };
  }
  const colons = entry.split(':').length - 1;
  if (colons !== 1) return { host: entry, port: null };
  const at = entry.lastIndexOf(':');
  return { host: entry.slice(0, at), port: portOf(entry.slice(at + 1)) };
}

function portOf(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65_535 ? port : undefined;
}
