import type { Action } from '../../contract/action.js';
import type { Evidence } from '../../contract/decision.js';
import type { Logger } from '../../observe/logger.js';
import type { LocalPolicy, LocalVerdict } from '../local-policy.js';
import { finish, type Steps } from '../../runtime/steps.js';
import { compilePolicySteps, type CompiledPolicy, type Finding } from './compile-policy.js';
import type { PolicySpec } from './policy-spec.js';
import { createSubjectBuilder, type PolicySubject } from './policy-subject.js';

/**
 * The local reflex with Kaizen's semantics: every enabled policy of the file, and those synced from
 * the control plane for the action's agent, is evaluated; any finding blocks, and the block carries
 * every finding as evidence. The file's policies apply to every agent; each agent's synced set only
 * to its own actions (an agent with none yet is judged by the file's). Each source is replaced whole
 * (hot reload, sync), atomically for the decisions that follow.
 */
export interface PolicyEngine extends LocalPolicy {
  /** Replaces the file's policies (start, reload). True when they differ from the previous ones. */
  setFilePolicies(policies: readonly PolicySpec[]): boolean;
  /** Replaces one agent's synced policies (only after a valid sync). True when they differ. */
  setSyncedPolicies(agent: string, policies: readonly PolicySpec[]): boolean;
  /**
   * setSyncedPolicies in two parts, so that a sync can compile a large set a piece at a time
   * (runtime/steps.ts) while the proxy serves: nothing changes until the commit. Null when the
   * policies equal the agent's set in force.
   */
  prepareSyncedPolicies(agent: string, policies: readonly PolicySpec[]): Steps<PreparedPolicies | null>;
  /** Puts a prepared set in force for its agent, at once for the decisions that follow. */
  commitSyncedPolicies(prepared: PreparedPolicies): void;
  /** Forgets an agent's synced policies (it is no longer served). True when it had some. */
  dropSyncedPolicies(agent: string): boolean;
  /** The file's policies, those synced for `agent`, and how many of both are evaluated for it. */
  counts(agent: string): { readonly file: number; readonly synced: number; readonly evaluated: number };
}

interface Source {
  readonly key: string;
  readonly compiled: readonly CompiledPolicy[];
}

/** An agent's synced set, compiled and not yet in force (PolicyEngine.prepareSyncedPolicies). */
export interface PreparedPolicies {
  readonly agent: string;
  readonly source: Source;
}

const EMPTY: Source = { key: '[]', compiled: [] };
const NO_MATCH: LocalVerdict = Object.freeze({ decision: 'allow', reason: 'no local policy matched', evidence: Object.freeze([]) });
const NO_ADDRESSES: readonly string[] = Object.freeze([]);

export function createPolicyEngine(options: { readonly logger: Logger; readonly file?: readonly PolicySpec[] }): PolicyEngine {
  const logger = options.logger.child({ component: 'policy' });
  let file = EMPTY;
  /** Per agent, bounded by the agents synced (the configured one and the gateway's identities). */
  const synced = new Map<string, Source>();
  /** What is evaluated: the file's for an agent without a synced set, else the file's and its own. */
  let fileActive: readonly CompiledPolicy[] = [];
  const active = new Map<string, readonly CompiledPolicy[]>();
  /** The same, only the policies that can refuse an action without its addresses (refuseByName). */
  let fileByName: readonly CompiledPolicy[] = [];
  const byName = new Map<string, readonly CompiledPolicy[]>();
  let noted = false;
  const subjectOf = createSubjectBuilder();

  function* replace(current: Source, next: readonly PolicySpec[]): Steps<Source | null> {
    const key = JSON.stringify(next);
    if (key === current.key) return null;
    // Compile everything before swapping anything: a failure leaves the old set in force.
    const compiled: CompiledPolicy[] = [];
    for (const spec of next) {
      yield;
      compiled.push(yield* compilePolicySteps(spec));
    }
    return { key, compiled };
  }

  function note(source: Source): void {
    const correlation = source.compiled.filter(({ spec }) => spec.mode === 'correlation').map(({ spec }) => spec.label);
    if (correlation.length > 0 && !noted) {
      noted = true;
      logger.info({ policies: correlation }, 'correlation policies are accepted and not evaluated: the proxy sees no file reads');
    }
  }

  function activate(agent: string, source: Source): void {
    const policies = [...fileActive, ...evaluatedOf(source)];
    active.set(agent, policies);
    byName.set(agent, policies.filter(refusesByName));
  }

  const engine: PolicyEngine = {
    evaluate(action: Action, addresses: readonly string[], agent: string): LocalVerdict {
      const policies = active.get(agent) ?? fileActive;
      if (policies.length === 0) return NO_MATCH;
      const findings = findingsOf(policies, subjectOf(action, addresses));
      return findings.length === 0 ? NO_MATCH : blockVerdict(findings);
    },
    refuseByName(action: Action, agent: string): LocalVerdict | undefined {
      const policies = byName.get(agent) ?? fileByName;
      if (policies.length === 0) return undefined;
      // Without addresses only the rules that need none can find anything (an `ip` rule, only an IP literal target).
      const findings = findingsOf(policies, subjectOf(action, NO_ADDRESSES));
      return findings.length === 0 ? undefined : blockVerdict(findings);
    },
    setFilePolicies(policies) {
      const next = finish(replace(file, policies));
      if (next === null) return false;
      file = next;
      fileActive = evaluatedOf(file);
      fileByName = fileActive.filter(refusesByName);
      for (const [agent, source] of synced) activate(agent, source);
      note(file);
      return true;
    },
    setSyncedPolicies(agent, policies) {
      const prepared = finish(engine.prepareSyncedPolicies(agent, policies));
      if (prepared === null) return false;
      engine.commitSyncedPolicies(prepared);
      return true;
    },
    *prepareSyncedPolicies(agent, policies) {
      const source = yield* replace(synced.get(agent) ?? EMPTY, policies);
      return source === null ? null : { agent, source };
    },
    commitSyncedPolicies({ agent, source }) {
      synced.set(agent, source);
      activate(agent, source);
      note(source);
    },
    dropSyncedPolicies(agent) {
      const had = (synced.get(agent)?.compiled.length ?? 0) > 0;
      synced.delete(agent);
      active.delete(agent);
      byName.delete(agent);
      return had;
    },
    counts(agent) {
      return { file: file.compiled.length, synced: synced.get(agent)?.compiled.length ?? 0, evaluated: (active.get(agent) ?? fileActive).length };
    },
  };
  if (options.file !== undefined) engine.setFilePolicies(options.file);
  return engine;
}

/** Every policy's findings against one subject, in policy order. */
function findingsOf(policies: readonly CompiledPolicy[], subject: PolicySubject): Finding[] {
  const findings: Finding[] = [];
  for (const policy of policies) {
    const found = policy.findings(subject);
    if (found.length > 0) findings.push(...found);
  }
  return findings;
}

function evaluatedOf(source: Source): readonly CompiledPolicy[] {
  return source.compiled.filter(({ spec }) => spec.enabled && spec.mode !== 'correlation');
}

/**
 * A policy that can find against an action from its name alone: every allowlist (its dimensions
 * are the host, tool and publisher), a blocklist with a rule other than `ip`. A finding without
 * addresses is one with them too: findings only add up as addresses do.
 */
function refusesByName({ spec }: CompiledPolicy): boolean {
  const { rules } = spec;
  return spec.mode === 'allowlist' || rules.domains !== undefined || rules.publishers !== undefined || rules.hashes !== undefined || rules.skillPatterns !== undefined;
}

/** The reason names the policies and the rule kinds that matched; the evidence lists every finding. */
function blockVerdict(findings: readonly Finding[]): LocalVerdict {
  const policies = [...new Set(findings.map((finding) => finding.policy))];
  const kinds = [...new Set(findings.map((finding) => finding.kind))];
  const evidence: Evidence[] = findings.map((finding) => ({ kind: finding.kind, value: finding.value, source: `policy ${finding.policy}` }));
  const which = policies.length === 1 ? `policy ${policies[0] ?? ''}` : `policies ${policies.join(', ')}`;
  return { decision: 'block', reason: `blocked by local ${which} (${kinds.join(', ')})`, evidence };
}
