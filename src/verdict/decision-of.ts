import type { FailMode } from '../config/types.js';
import type { Decision, DecisionSource, Evidence } from '../contract/decision.js';
import type { ErrorCode } from '../errors/codes.js';

interface VerdictLike {
  readonly decision: 'allow' | 'block';
  readonly reason: string;
  readonly evidence: readonly Evidence[];
  readonly verdictId?: string | null;
  readonly flagged?: boolean;
}

/** A verdict → the transport's Decision: allow (flagged or not) forwards, block refuses. */
export function decisionOf(verdict: VerdictLike, source: DecisionSource): Decision {
  return {
    decision: verdict.decision,
    enforce: verdict.decision === 'block' ? 'refuse' : 'forward',
    reason: verdict.reason,
    evidence: verdict.evidence,
    source,
    verdictId: verdict.verdictId ?? null,
    flagged: verdict.flagged ?? false,
    wouldBlock: false,
  };
}

/**
 * No verdict could be had (control plane failure without a usable stale entry, or an internal error).
 * The reason names the stable code and nothing internal: it reaches the client. An answer that came
 * but could not be read (KZP_ERR_CONTROL_PLANE_ANSWER) is said so: the control plane was reached.
 */
export function failModeDecision(mode: FailMode, code: ErrorCode): Decision {
  const evidence: readonly Evidence[] = [{ kind: 'error_code', value: code, source: 'kaizen-proxy' }];
  const failure = code === 'KZP_ERR_CONTROL_PLANE_ANSWER' ? 'Kaizen control plane answer could not be read' : 'Kaizen control plane could not be reached';
  if (mode === 'open') {
    return decisionOf({ decision: 'allow', reason: `${failure} (${code}); allowed because fail mode is open`, evidence }, 'fail_open');
  }
  return decisionOf({ decision: 'block', reason: `${failure} (${code}); refused because fail mode is closed`, evidence }, 'fail_closed');
}
