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

/** `status` sums the agents up by the worst; `agents` names each one's (own properties, whatever the name). */
function policySyncReport(syncs: readonly AgentPolicySync[]): { status: PolicySyncStatus; agents: Record<string, PolicySyncStatus> } {
  let worst: PolicySyncStatus = 'none';
  for (const sync of syncs) if (SEVERITY[sync.status] > SEVERITY[worst]) worst = sync.status;
  return { status: worst, agents: Object.fromEntries(syncs.map((sync) => [sync.agent, sync.status])) };
}
