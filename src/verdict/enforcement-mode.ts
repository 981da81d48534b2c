import type { EnforcementMode } from '../config/types.js';
import type { Decision } from '../contract/decision.js';

export interface ModeSettings {
  readonly mode: EnforcementMode;
  /** In monitor mode, the address guard still refuses (the default): it protects the host, not the policy. */
  readonly monitorGuard: boolean;
}

/**
 * Monitor mode never refuses for a verdict: a block (local policy, control plane, no verdict
 * under fail closed) is forwarded with `wouldBlock`, keeping its decision, reason and evidence,
 * so it is logged and reported as the verdict it would have had. The address guard still refuses
 * unless `monitor_guard: false`.
 */
export function applyMode(decision: Decision, settings: ModeSettings): Decision {
  if (settings.mode === 'enforce' || decision.enforce === 'forward') return decision;
  if (decision.source === 'guard' && settings.monitorGuard) return decision;
  return { ...decision, enforce: 'forward', wouldBlock: true };
}
