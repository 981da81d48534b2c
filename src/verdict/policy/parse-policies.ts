import { ENTRIES_PER_STEP, finish, type Steps } from '../../runtime/steps.js';
import type { PolicyWire } from './policy-wire.js';
import { POLICY_MODES, type PolicyMode, type PolicyRules, type PolicySpec } from './policy-spec.js';
import { domainEntry, ipEntry, patternEntry, publisherEntry, textEntry, type EntryResult } from './rule-values.js';

/**
 * Policies on the wire → validated, normalised specs. Never a silent allow: an unknown mode, an
 * unknown rule key, a malformed entry, an invalid pattern or an empty allowlist is an issue that
 * names the policy (by name, or by index) and the key. Rule keys per mode follow Kaizen's SDKs.
 */
export interface PolicyIssue {
  /** Relative to the list: [index, 'rules', key, entry?]. */
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export type PoliciesResult =
  | { readonly ok: true; readonly policies: readonly PolicySpec[] }
  | { readonly ok: false; readonly issues: readonly PolicyIssue[] };

type ListKey = 'publishers' | 'ip' | 'ips' | 'domains' | 'hashes' | 'skill_patterns' | 'tools';

const KEYS_BY_MODE: Readonly<Record<PolicyMode, readonly string[]>> = {
  blocklist: ['publishers', 'ip', 'ips', 'domains', 'hashes', 'skill_patterns'],
  allowlist: ['publishers', 'tools', 'domains'],
  correlation: ['risky_sequence'],
};

const ENTRY_OF: Readonly<Record<ListKey, (raw: string) => EntryResult>> = {
  publishers: publisherEntry,
  ip: ipEntry,
  ips: ipEntry,
  domains: domainEntry,
  hashes: textEntry,
  skill_patterns: patternEntry,
  tools: textEntry,
};

const MAX_ENTRIES = 100_000;
/** Policies parsed between two yields (a list of 10,000 small ones is long work too). */
const POLICIES_PER_STEP = 64;

type MutableRules = { -readonly [K in keyof PolicyRules]: PolicyRules[K] };

/** `labelPrefix` tells sources apart in labels: "" for the file, "synced " for the control plane's. */
export function parsePolicies(list: readonly PolicyWire[], labelPrefix = ''): PoliciesResult {
  return finish(parsePoliciesSteps(list, labelPrefix));
}

/** parsePolicies a piece at a time (runtime/steps.ts): a synced answer may list 100,000 entries per key. */
export function* parsePoliciesSteps(list: readonly PolicyWire[], labelPrefix = ''): Steps<PoliciesResult> {
  const issues: PolicyIssue[] = [];
  const policies: PolicySpec[] = [];
  for (const [index, wire] of list.entries()) {
    if (index % POLICIES_PER_STEP === POLICIES_PER_STEP - 1) yield;
    const label = labelPrefix + (wire.name === undefined ? `#${index}` : JSON.stringify(wire.name));
    const spec = yield* parseOne(wire, index, label, issues);
    if (spec !== undefined) policies.push(spec);
  }
  return issues.length > 0 ? { ok: false, issues } : { ok: true, policies };
}

function* parseOne(wire: PolicyWire, index: number, label: string, issues: PolicyIssue[]): Steps<PolicySpec | undefined> {
  const say = (path: readonly (string | number)[], message: string): void => {
    issues.push({ path: [index, ...path], message: `policy ${label}: ${message}` });
  };
  const mode = POLICY_MODES.find((known) => known === wire.mode.trim().toLowerCase());
  if (mode === undefined) {
    say(['mode'], `unknown mode ${JSON.stringify(wire.mode)}; expected ${POLICY_MODES.join(', ')}`);
    return undefined;
  }
  const allowed = KEYS_BY_MODE[mode];
  const rules: MutableRules = {};
  const before = issues.length;
  for (const [key, value] of Object.entries(wire.rules)) {
    if (!allowed.includes(key)) {
      const elsewhere = POLICY_MODES.filter((other) => KEYS_BY_MODE[other].includes(key));
      const hint = elsewhere.length > 0 ? ` (${elsewhere.map(withArticle).join(' or ')} key)` : '';
      say(['rules', key], `unknown rule key ${JSON.stringify(key)} for ${withArticle(mode)}${hint}; expected ${allowed.join(', ')}`);
      continue;
    }
    if (key === 'risky_sequence') {
      if (typeof value === 'string' && value.trim() !== '') rules.riskySequence = value.trim();
      else say(['rules', key], 'expected a sequence name such as read_then_connect');
      continue;
    }
    const entries = yield* parseList(key as ListKey, value, (path, message) => {
      say(['rules', key, ...path], message);
    });
    if (entries !== undefined) addEntries(rules, key as ListKey, entries);
  }
  if (issues.length > before) return undefined;
  if (mode === 'allowlist') {
    const listed = [rules.publishers, rules.tools, rules.domains].filter((entries) => entries !== undefined);
    if (listed.length === 0) {
      say(['rules'], 'an allowlist without rules would refuse everything; list publishers, tools or domains');
      return undefined;
    }
    const empty = (['publishers', 'tools', 'domains'] as const).find((key) => rules[key]?.length === 0);
    if (empty !== undefined) {
      say(['rules', empty], `an empty ${empty} list in an allowlist matches nothing and would refuse everything`);
      return undefined;
    }
  }
  return { name: wire.name ?? null, label, mode, enabled: wire.enabled, rules };
}

function withArticle(mode: PolicyMode): string {
  return mode === 'allowlist' ? 'an allowlist' : `a ${mode}`;
}

function* parseList(key: ListKey, value: unknown, say: (path: readonly (string | number)[], message: string) => void): Steps<string[] | undefined> {
  if (!Array.isArray(value)) {
    say([], 'expected a list of strings');
    return undefined;
  }
  if (value.length > MAX_ENTRIES) {
    say([], `more than ${MAX_ENTRIES} entries`);
    return undefined;
  }
  // A Set as it goes (duplicates dropped, first place kept): one pass, spread over the steps.
  const entries = new Set<string>();
  let failed = false;
  for (const [at, raw] of (value as readonly unknown[]).entries()) {
    if (at % ENTRIES_PER_STEP === ENTRIES_PER_STEP - 1) yield;
    if (typeof raw !== 'string') {
      say([at], 'expected a string');
      failed = true;
      continue;
    }
    const entry = ENTRY_OF[key](raw);
    if (entry.ok) entries.add(entry.value);
    else {
      say([at], `${JSON.stringify(raw.slice(0, 100))}: ${entry.message}`);
      failed = true;
    }
  }
  return failed ? undefined : [...entries];
}

function addEntries(rules: MutableRules, key: ListKey, entries: readonly string[]): void {
  switch (key) {
    case 'ip':
    case 'ips':
      rules.ip = rules.ip === undefined ? entries : [...new Set([...rules.ip, ...entries])];
      return;
    case 'skill_patterns':
      rules.skillPatterns = entries;
      return;
    case 'publishers':
    case 'domains':
    case 'hashes':
    case 'tools':
      rules[key] = entries;
      return;
  }
}
