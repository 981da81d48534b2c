import { isIP } from 'node:net';

import type { PolicySubject } from './policy-subject.js';

/**
 * `domains` entries compiled for lookup: a name matches itself and every subdomain (label
 * boundaries only: `example.com` never matches `notexample.com`), found by looking the host's
 * suffixes up in a Set, so the cost grows with the host's labels, not with the list. An IP
 * literal in the list matches only that IP target: a domain rule never matches an IP by text suffix.
 */
export interface DomainSet {
  /** The entry that matched the subject's canonical host, or undefined. */
  match(subject: Pick<PolicySubject, 'host' | 'hostIsIp' | 'suffixes'>): string | undefined;
}

export function createDomainSet(entries: readonly string[]): DomainSet {
  const names = new Set<string>();
  const addresses = new Set<string>();
  for (const entry of entries) (isIP(entry) === 0 ? names : addresses).add(entry);
  return {
    match({ host, hostIsIp, suffixes }) {
      if (hostIsIp) return addresses.has(host) ? host : undefined;
      return suffixes.find((suffix) => names.has(suffix));
    },
  };
}
