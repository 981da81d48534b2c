import type { EnforcementMode, ProxyConfig } from '../config/types.js';
import type { Logger } from '../observe/logger.js';
import { pace } from '../runtime/steps.js';
import { createControlPlaneClient } from '../verdict/control-plane-client.js';
import type { ModeSettings } from '../verdict/enforcement-mode.js';
import type { LocalPolicy } from '../verdict/local-policy.js';
import { createPolicyEngine, type PolicyEngine } from '../verdict/policy/policy-engine.js';
import { createAgentSyncs, type AgentSyncStatus } from '../verdict/policy/agent-syncs.js';
import { createPolicySync } from '../verdict/policy/policy-sync.js';
import type { PolicySpec } from '../verdict/policy/policy-spec.js';
import { withSniMismatchRule } from '../verdict/policy/sni-mismatch-rule.js';
import type { VerdictClient } from '../verdict/verdict-client.js';

/** One agent's policy sync, reported on /readyz and in metrics: `none` without an account. */
export interface AgentSyncReport {
  readonly agent: string;
  readonly status: 'none' | AgentSyncStatus['status'];
}

export interface LocalReflex {
  /** Spread into createDecider's options: the policy engine, the shared client, the live mode. */
  readonly deciderOptions: { readonly localPolicy: LocalPolicy; readonly mode: () => ModeSettings; readonly client?: VerdictClient };
  readonly engine: PolicyEngine;
  /** Every agent served (the configured one first, then the gateway's) and its sync's status. */
  syncStatus(): readonly AgentSyncReport[];
  /**
   * With an API key: the first policy sync of every agent served, in parallel (each bounded by its
   * deadline), then one every policy_sync.interval each.
   */
  start(): Promise<void>;
  /**
   * The gateway's identities after a reload: the agents served are the configured one and these; a
   * new one starts syncing, one gone stops and its synced policies go. Resolves once every agent
   * served has had its first sync (at once without an account). Never rejects.
   */
  setGatewayAgents(agents: readonly string[]): Promise<void>;
  /** Hot reload: the file's policies (true when they changed) and the mode. */
  setFilePolicies(policies: readonly PolicySpec[]): boolean;
  setMode(settings: ModeSettings): void;
  stop(): void;
}

export interface LocalReflexHooks {
  /**
   * Policies changed: one agent's (its synced set changed, or it is no longer served), whose cached
   * verdicts should go, or, with null, the file's, which apply to every agent.
   */
  readonly onPoliciesChanged?: (agent: string | null) => void;
}

/** Fetching policies may take longer than one verdict: at least this long. */
const MIN_SYNC_TIMEOUT_MS = 5_000;

/**
 * The local half of the decision, assembled once: Kaizen policies from the file, those synced from
 * the control plane for each agent served (sharing the verdict client's pool and key), and the
 * enforcement mode. `onPoliciesChanged` runs when any source changes, so cached verdicts can be dropped.
 */
export function createLocalReflex(config: ProxyConfig, logger: Logger, hooks: LocalReflexHooks = {}): LocalReflex {
  const engine = createPolicyEngine({ logger, file: config.policies });
  let mode: ModeSettings = { mode: config.mode, monitorGuard: config.monitorGuard };
  const apiKey = config.controlPlane.apiKey;
  const client =
    apiKey === null ? null : createControlPlaneClient({ url: config.controlPlane.url, apiKey, timeoutMs: config.controlPlane.timeoutMs, logger, upstreamProxy: config.upstreamProxy });
  let agents = servedAgents(config.agent, config.gateway.credentials.map((credential) => credential.agent));
  const syncs =
    client === null
      ? null
      : createAgentSyncs({
          agents,
          logger,
          create: (agent) =>
            createPolicySync({
              client,
              agent,
              intervalMs: config.policySync.intervalMs,
              timeoutMs: Math.max(config.controlPlane.timeoutMs, MIN_SYNC_TIMEOUT_MS),
              logger,
              apply: async (policies, stop) => {
                // Compiled a slice at a time beside the data plane, then put in force at once.
                const prepared = await pace(engine.prepareSyncedPolicies(agent, policies), undefined, stop);
                if (prepared === undefined || prepared === null || stop.aborted) return false;
                engine.commitSyncedPolicies(prepared);
                hooks.onPoliciesChanged?.(agent);
                return true;
              },
            }),
          dropped: (agent) => {
            engine.dropSyncedPolicies(agent);
            // Its cached verdicts go even without synced policies: served again later, it starts afresh.
            hooks.onPoliciesChanged?.(agent);
          },
        });
  announce(logger, config.policies, config.mode);

  return {
    deciderOptions: { localPolicy: withSniMismatchRule(engine, () => config.tls.sniMismatch), mode: () => mode, ...(client === null ? {} : { client }) },
    engine,
    syncStatus: () => syncs?.statuses() ?? agents.map((agent) => ({ agent, status: 'none' as const })),
    async start() {
      await syncs?.start();
    },
    async setGatewayAgents(gatewayAgents) {
      agents = servedAgents(config.agent, gatewayAgents);
      await syncs?.setAgents(agents);
    },
    setFilePolicies(policies) {
      const changed = engine.setFilePolicies(policies);
      if (changed) hooks.onPoliciesChanged?.(null);
      return changed;
    },
    setMode(settings) {
      if (settings.mode !== mode.mode || settings.monitorGuard !== mode.monitorGuard) announce(logger, [], settings.mode);
      mode = settings;
    },
    stop() {
      syncs?.stop();
    },
  };
}

/** The configured agent (every client's without a gateway, a transparent connection's with one), then each gateway identity. */
function servedAgents(configured: string, gateway: readonly string[]): readonly string[] {
  return [...new Set([configured, ...gateway])];
}

function announce(logger: Logger, policies: readonly PolicySpec[], mode: EnforcementMode): void {
  const evaluated = policies.filter((policy) => policy.enabled && policy.mode !== 'correlation');
  if (policies.length > 0) logger.info({ policies: policies.length, evaluated: evaluated.length }, 'local policies loaded');
  const needsFields = evaluated.filter((policy) => policy.mode === 'allowlist' && (policy.rules.tools !== undefined || policy.rules.publishers !== undefined));
  if (needsFields.length > 0) {
    logger.warn(
      { policies: needsFields.map((policy) => policy.label) },
      'allowlist lists tools or publishers: egress actions carry a tool only when a route (tools:) maps them, and a publisher only for names under a public suffix (none with publishers: false), so every other action is refused',
    );
  }
  if (mode === 'monitor') logger.warn('monitor mode: blocked actions are forwarded and logged with would_block, not refused');
}
