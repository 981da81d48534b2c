import type { Action } from '../contract/action.js';
import type { Evidence } from '../contract/decision.js';

/** The verdict reached on this machine, before (or without) the control plane. Also what we send it. */
export interface LocalVerdict {
  readonly decision: 'allow' | 'block';
  readonly reason: string;
  readonly evidence: readonly Evidence[];
}

/**
 * The seam for the local reflex (Kaizen SDK policy semantics). A local block is final: the control
 * plane cannot turn it into an allow. `addresses` is empty when DNS failed; `agent` is the one the
 * action is decided for (gateway mode: the authenticated one), whose synced policies apply.
 */
export interface LocalPolicy {
  evaluate(action: Action, addresses: readonly string[], agent: string): LocalVerdict;
  /**
   * The block that the rules needing no addresses (domains, publishers, hashes, skill patterns,
   * allowlists) already give the action, before its name is looked up: whatever it resolves to,
   * evaluate() blocks it too. Undefined when none of them blocks it, and at no cost (no allocation)
   * for an agent without such rules.
   */
  refuseByName?(action: Action, agent: string): LocalVerdict | undefined;
}

const NO_MATCH: LocalVerdict = Object.freeze({ decision: 'allow', reason: 'no local policy matched', evidence: Object.freeze([]) });

/** The default until policies are loaded: everything the address guard lets through is allowed. */
export const allowAllPolicy: LocalPolicy = Object.freeze({
  evaluate: (): LocalVerdict => NO_MATCH,
});
