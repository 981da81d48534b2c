import { isIP } from 'node:net';

/**
 * `domains` entries compiled for lookup: a name matches itself and every subdomain (label
 * boundaries only: `example.com` never matches `notexample.com`), found by walking the host's
 * suffixes through a Set, so the cost grows with the host's labels, not with the list. An IP
 * literal in the list matches only that IP target: a domain rule never matches an IP by text suffix.
 */
export interface DomainSet {
  /** The entry that matched the canonical host, or undefined. */
  match(host: string): string | undefined;
}

export function createDomainSet(entries: readonly string[]): DomainSet {
  const names = new Set<string>();
  const addresses = new Set<string>();
  for (const entry of entries) (isIP(entry) === 0 ? names : addresses).add(entry);
  return {
    match(host) {
      if (isIP(host) !== 0) return addresses.has(host) ? host : undefined;
      if (names.has(host)) return host;
      for (let dot = host.indexOf('.'); dot >= 0; dot = host.indexOf('.', dot + 1)) {
        const suffix = host.slice(dot + 1);
        if (names.has(suffix)) return suffix;
      }
      return undefined;
    },
  };
}
