import { parse } from 'tldts';
import type { Target } from '../contract/target.js';

/**
 * The publisher of a destination: its registrable domain without the public suffix, from the
 * ICANN section of the public suffix list (`api.stripe.com` → `stripe`, `www.bbc.co.uk` → `bbc`),
 * so Kaizen's publisher rules apply to egress. IP literals and names under no ICANN suffix
 * (`localhost`, `svc.cluster.local`) have none: a made-up publisher would only add noise.
 */
export function publisherOf(target: Target): string | undefined {
  if (target.hostType !== 'dns') return undefined;
  const parsed = parse(target.host, { allowPrivateDomains: false, extractHostname: false, validateHostname: false });
  if (parsed.isIcann !== true || parsed.domainWithoutSuffix === null || parsed.domainWithoutSuffix === '') return undefined;
  return parsed.domainWithoutSuffix;
}
