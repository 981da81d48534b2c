import type { Action } from '../contract/action.js';
import type { Logger } from '../observe/logger.js';
import type { LocalPolicy, LocalVerdict } from './local-policy.js';

/**
 * Runs the local policy the way Kaizen's SDKs run their reflex: fail closed. An engine error is a
 * block whatever the fail mode (which is about the control plane, not about local policy).
 */
export function evaluateLocally(policy: LocalPolicy, action: Action, addresses: readonly string[], agent: string, logger: Logger): LocalVerdict {
  try {
    return policy.evaluate(action, addresses, agent);
  } catch (error) {
    return engineFailed(error, action, logger);
  }
}

/** The policy's refuseByName, failing closed the same way: an engine error refuses without a lookup. */
export function refusedLocallyByName(policy: LocalPolicy, action: Action, agent: string, logger: Logger): LocalVerdict | undefined {
  try {
    return policy.refuseByName?.(action, agent);
  } catch (error) {
    return engineFailed(error, action, logger);
  }
}

function engineFailed(error: unknown, action: Action, logger: Logger): LocalVerdict {
  logger.error({ err: error, code: 'KZP_ERR_DECIDER', target: action.target }, 'local policy failed: refusing');
  return {
    decision: 'block',
    reason: 'local policy could not be evaluated (KZP_ERR_DECIDER); refused',
    evidence: [{ kind: 'error_code', value: 'KZP_ERR_DECIDER', source: 'kaizen-proxy' }],
  };
}
