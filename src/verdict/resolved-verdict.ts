import type { Evidence } from '../contract/decision.js';
import type { LocalVerdict } from './local-policy.js';
import type { ControlPlaneAnswer } from './verdict-client.js';

/** A verdict worth caching: the control plane's, or the local one it recorded without an opinion. */
export interface ResolvedVerdict {
  readonly decision: 'allow' | 'block';
  readonly reason: string;
  readonly evidence: readonly Evidence[];
  readonly verdictId: string | null;
  readonly flagged: boolean;
  /** Who decided when it was fetched: the control plane, or the local verdict it let stand. */
  readonly origin: 'control_plane' | 'local';
}

/**
 * The rule of the control plane reference: a decision in the answer wins, else the local verdict
 * stands. A local block is final whatever the answer says.
 */
export function resolveVerdict(answer: ControlPlaneAnswer, local: LocalVerdict): ResolvedVerdict {
  if (answer.kind === 'recorded' || local.decision === 'block') {
    return { decision: local.decision, reason: local.reason, evidence: local.evidence, verdictId: answer.verdictId, flagged: false, origin: 'local' };
  }
  return {
    decision: answer.decision,
    reason: answer.reason,
    evidence: answer.evidence,
    verdictId: answer.verdictId,
    flagged: answer.flagged,
    origin: 'control_plane',
  };
}
