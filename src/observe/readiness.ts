import type { ControlPlaneStatus } from './control-plane-state.js';
import type { PolicySyncStatus } from './proxy-metrics.js';

/**
 * Readiness of one proxy: ready while its listeners are bound and it is not draining (the
 * configuration is loaded by construction: a proxy only exists once it validated). The control
 * plane and policy sync are reported, never judged: fail mode decides what their trouble means.
 */
export class Readiness {
  #listening = false;
  #draining = false;
  readonly #controlPlane: () => ControlPlaneStatus;
  readonly #policySync: () => PolicySyncStatus;

  constructor(controlPlane: () => ControlPlaneStatus, policySync: () => PolicySyncStatus) {
    this.#controlPlane = controlPlane;
    this.#policySync = policySync;
  }

  markListening(): void {
    this.#listening = true;
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
      policy_sync: { status: this.#policySync() },
    };
  }
}
