import { finish, type Steps } from '../../runtime/steps.js';
import { createDomainSetSteps, type DomainSet } from './domain-set.js';
import { createIpSetSteps, type IpSet } from './ip-set.js';
import type { PolicySpec, RuleKind } from './policy-spec.js';
import type { PolicySubject } from './policy-subject.js';
import { anchoredPattern, MAX_PATTERN_LENGTH } from './rule-values.js';

/** One reason a policy refuses an action: a blocklist rule that matched, or an allowlist dimension that did not. */
export interface Finding {
  readonly policy: string;
  readonly kind: RuleKind | 'allowlist';
  readonly value: string;
}

/** A policy turned into matchers once (patterns compiled, sets built); `findings` runs per action. */
export interface CompiledPolicy {
  readonly spec: PolicySpec;
  findings(subject: PolicySubject): readonly Finding[];
}

const NONE: readonly Finding[] = Object.freeze([]);

interface Matchers {
  readonly publishers: ReadonlySet<string> | null;
  readonly tools: ReadonlySet<string> | null;
  readonly hashes: ReadonlySet<string> | null;
  readonly domains: DomainSet | null;
  readonly ip: IpSet | null;
  readonly patterns: readonly { readonly source: string; readonly regex: RegExp }[] | null;
}

export function compilePolicy(spec: PolicySpec): CompiledPolicy {
  return finish(compilePolicySteps(spec));
}

/** compilePolicy a piece at a time (runtime/steps.ts): the domain and ip sets of a feed are the long part. */
export function* compilePolicySteps(spec: PolicySpec): Steps<CompiledPolicy> {
  const { rules } = spec;
  const set = (entries: readonly string[] | undefined): ReadonlySet<string> | null => (entries === undefined ? null : new Set(entries));
  const domains = rules.domains === undefined ? null : yield* createDomainSetSteps(rules.domains);
  const ip = rules.ip === undefined ? null : yield* createIpSetSteps(rules.ip);
  const m: Matchers = {
    publishers: set(rules.publishers),
    tools: set(rules.tools),
    hashes: set(rules.hashes),
    domains,
    ip,
    patterns: rules.skillPatterns?.map((source) => ({ source, regex: anchoredPattern(source) })) ?? null,
  };
  switch (spec.mode) {
    case 'blocklist':
      return { spec, findings: (subject) => blocklistFindings(spec.label, m, subject) };
    case 'allowlist':
      return { spec, findings: (subject) => allowlistFindings(spec.label, m, subject) };
    case 'correlation':
      return { spec, findings: () => NONE };
  }
}

function blocklistFindings(policy: string, m: Matchers, subject: PolicySubject): readonly Finding[] {
  const found: Finding[] = [];
  const add = (kind: RuleKind, value: string): void => {
    found.push({ policy, kind, value });
  };
  const domain = m.domains?.match(subject);
  if (domain !== undefined) add('domains', domain);
  const ip = m.ip?.match(subject.candidates);
  if (ip !== undefined) add('ip', ip.entry === `${ip.address}/32` || ip.entry === `${ip.address}/128` ? ip.address : `${ip.entry} (${ip.address})`);
  if (subject.publisher !== null && m.publishers?.has(subject.publisher) === true) add('publishers', subject.publisher);
  if (subject.hash !== null && m.hashes?.has(subject.hash) === true) add('hashes', subject.hash);
  if (subject.tool !== null && m.patterns !== null) {
    if (subject.tool.length > MAX_PATTERN_LENGTH) add('skill_patterns', `tool name longer than ${MAX_PATTERN_LENGTH} characters`);
    else {
      const tool = subject.tool;
      const pattern = m.patterns.find(({ regex }) => regex.test(tool));
      if (pattern !== undefined) add('skill_patterns', `${pattern.source} (${tool})`);
    }
  }
  return found.length === 0 ? NONE : found;
}

/** Every listed dimension must match (AND); an action lacking a listed field (no tool, no publisher) does not. */
function allowlistFindings(policy: string, m: Matchers, subject: PolicySubject): readonly Finding[] {
  const missing: string[] = [];
  if (m.domains !== null && !m.domains.admits(subject)) missing.push(`domains (${subject.host})`);
  if (m.publishers !== null && (subject.publisher === null || !m.publishers.has(subject.publisher))) missing.push(`publishers (${subject.publisher ?? 'none'})`);
  if (m.tools !== null && (subject.tool === null || !m.tools.has(subject.tool))) missing.push(`tools (${subject.tool ?? 'none'})`);
  return missing.length === 0 ? NONE : [{ policy, kind: 'allowlist', value: `not listed in ${missing.join(', ')}` }];
}
