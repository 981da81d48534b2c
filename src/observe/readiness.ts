import type { ControlPlaneStatus } from './control-plane-state.js';
import type { AgentPolicySync, PolicySyncStatus } from './proxy-metrics.js';

/**
 * Readiness of one proxy: ready while its listeners are bound and it is not draining (the
 * configuration is loaded by construction: a proxy only exists once it validated). The control
 * plane and policy sync are reported, never judged: fail mode decides what their trouble means.
 */
export class Readiness {
  #listening = false;
  #draining = false;
  readonly #controlPlane: () => ControlPlaneStatus;
  readonly #policySync: () => readonly AgentPolicySync[];

  constructor(controlPlane: () => ControlPlaneStatus, policySync: () => readonly AgentPolicySync[]) {
    this.#controlPlane = controlPlane;
    this.#policySync = policySync;
  }

  markListening(): void {
    this.#listening = true;
  }

  /** The listeners have stopped accepting (the drain closed them): /readyz no longer says listening. */
  markNotListening(): void {
    this.#listening = false;
  }

  /** The first step of a shutdown: /readyz fails from here on, before the drain starts. */
  markDraining(): void {
    this.#draining = true;
  }

  get ready(): boolean {
    return this.#listening && !this.#draining;
  }

  report(): Record<string, unknown> {
    return {
      ready: this.ready,
      listening: this.#listening,
      config_loaded: true,
      draining: this.#draining,
      control_plane: this.#controlPlane(),
      policy_sync: policySyncReport(this.#policySync()),
    };
  }
}

/** How bad a status is, for the summary: a failing agent makes the whole failing, a pending one pending. */
const SEVERITY: Readonly<Record<PolicySyncStatus, number>> = { none: 0, ok: 1, pending: 2, failing: 3 };

/**
 * `status` sums the agents up by the worst; `counts` says how many are in each status. No agent is
 * named: /readyz answers anyone who reaches the admin port, and gateway identities are not theirs
 * to learn (authenticate.ts keeps even its timing from telling which agents exist). The logs and
 * the metrics' `agent` label name them.
 */
export function policySyncReport(syncs: readonly AgentPolicySync[]): { status: PolicySyncStatus; counts: Record<PolicySyncStatus, number> } {
  let worst: PolicySyncStatus = 'none';
  const counts: Record<PolicySyncStatus, number> = { none: 0, ok: 0, pending: 0, failing: 0 };
  for (const sync of syncs) {
    counts[sync.status]++;
    if (SEVERITY[sync.status] > SEVERITY[worst]) worst = sync.status;
  }
  return { status: worst, counts };
}
