import { stringify } from 'yaml';
import { parseAuthority } from '../action/target-parse.js';
import type { Manifest } from '../contract/manifest.js';

/** The policy in Kaizen's wire shape, `{name, mode, rules}`, as the config's `policies:` takes it. */
export interface LearnedPolicy {
  readonly name: string;
  readonly mode: 'allowlist';
  readonly rules: { readonly domains: readonly string[] };
}

/**
 * An allowlist of the manifest's destinations for the local reflex: hosts without ports (a policy
 * domain matches itself and its subdomains; an IP literal matches only itself). Tools are left out
 * on purpose: an allowlist that lists tools refuses every action without one, which is most egress.
 */
export function learnedPolicy(agent: string, manifest: Manifest): LearnedPolicy {
  const domains = new Set<string>();
  for (const destination of manifest.destinations) {
    const parsed = parseAuthority(destination);
    if (parsed.ok) domains.add(parsed.value.host);
  }
  return { name: `learned-${agent}`.slice(0, 200), mode: 'allowlist', rules: { domains: [...domains].sort() } };
}

/** A YAML fragment to paste into the configuration (or use as a file of its own). */
export function policyYaml(policy: LearnedPolicy): string {
  return stringify({ policies: [{ name: policy.name, mode: policy.mode, rules: { domains: [...policy.rules.domains] } }] });
}
