/**
 * A Kaizen policy after validation: the domain model of `{mode, rules, name?, enabled?}`, plain
 * data (it is part of the frozen configuration and printed by `check-config`). Every value is
 * already normalised; compile-policy.ts turns it into matchers.
 */
export const POLICY_MODES = ['blocklist', 'allowlist', 'correlation'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

export interface PolicyRules {
  /** Publisher names, normalised (NFKC, zero-width dropped, trimmed, lower-case). */
  readonly publishers?: readonly string[];
  /** Canonical CIDR texts ("10.0.0.0/8", "2001:db8::/32"); the wire's `ip` and `ips` merged. */
  readonly ip?: readonly string[];
  /** Canonical hosts (punycode, no trailing dot, no leading `*.`): each matches itself and its subdomains. */
  readonly domains?: readonly string[];
  readonly hashes?: readonly string[];
  /** Regular expression sources as written; matched anchored and case-insensitively on the tool name. */
  readonly skillPatterns?: readonly string[];
  readonly tools?: readonly string[];
  /** Correlation only: accepted, never evaluated (the proxy sees no file reads). */
  readonly riskySequence?: string;
}

export interface PolicySpec {
  readonly name: string | null;
  /** How logs, errors and evidence name it: `"exfil"` or `#2` (its index in its list). */
  readonly label: string;
  readonly mode: PolicyMode;
  readonly enabled: boolean;
  readonly rules: PolicyRules;
}

/** The rule kinds a finding can name (the wire's `ip` and `ips` are both `ip`). */
export type RuleKind = 'publishers' | 'ip' | 'domains' | 'hashes' | 'skill_patterns' | 'tools';
