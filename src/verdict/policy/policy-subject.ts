import { canonicalHost } from '../../action/canonical-host.js';
import type { Action } from '../../contract/action.js';
import { parseIp } from '../../net/ip-address.js';
import type { Candidate } from './ip-set.js';
import { normaliseText } from './rule-values.js';

/**
 * What the rules look at, computed once per evaluation: the canonical host, every address to
 * judge (the literal target and each address the name resolved to), and the normalised tool,
 * publisher and hash. The host goes through src/action's canonicaliser again, so an action built
 * outside the transport is compared exactly like one built by it.
 */
export interface PolicySubject {
  readonly host: string;
  readonly candidates: readonly Candidate[];
  readonly tool: string | null;
  readonly publisher: string | null;
  readonly hash: string | null;
}

export function policySubject(action: Action, addresses: readonly string[]): PolicySubject {
  const host = canonicalTargetHost(action.target);
  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  for (const text of [host, ...addresses]) {
    const ip = parseIp(text);
    if (ip === undefined || seen.has(text)) continue;
    seen.add(text);
    candidates.push({ text, ip });
  }
  return {
    host,
    candidates,
    tool: optional(action.tool),
    publisher: optional(action.publisher),
    hash: optional(action.hash),
  };
}

/** "host:port" or "[v6]:port" → canonical host; a target that is not one throws (the reflex then fails closed). */
function canonicalTargetHost(target: string): string {
  const bracketed = target.startsWith('[');
  const end = bracketed ? target.indexOf(']') : target.lastIndexOf(':');
  const text = bracketed ? target.slice(1, end) : end < 0 ? target : target.slice(0, end);
  const host = canonicalHost(text);
  if (!host.ok) throw new Error(`action target has no valid host (${host.message})`);
  return host.value.host;
}

function optional(value: string | undefined): string | null {
  if (value === undefined) return null;
  const normalised = normaliseText(value);
  return normalised === '' ? null : normalised;
}
