import type { Logger } from '../../observe/logger.js';
import type { PolicySync, SyncOutcome } from './policy-sync.js';

export interface AgentSyncStatus {
  readonly agent: string;
  readonly status: PolicySync['status'];
}

export interface AgentSyncsOptions {
  /** Every agent the proxy serves: the configured one and the gateway's identities. */
  readonly agents: readonly string[];
  /** One agent's sync (not started). */
  readonly create: (agent: string) => PolicySync;
  /** An agent is no longer served: its sync has stopped; its synced policies should go. */
  readonly dropped: (agent: string) => void;
  readonly logger: Logger;
}

export interface AgentSyncs {
  /** The first sync of every agent, all at once (each bounded by its own deadline), then each on its interval. Never rejects. */
  start(): Promise<void>;
  /**
   * The agents served from now on (a reload of the gateway's credentials): a new one starts syncing,
   * one gone stops. Resolves once the first sync of every agent listed has ended. Never rejects.
   */
  setAgents(agents: readonly string[]): Promise<void>;
  /** Each agent's sync status, in the order the agents were listed. */
  statuses(): readonly AgentSyncStatus[];
  /** Every sync stops (fetches in flight abandoned); setAgents does nothing afterwards. */
  stop(): void;
}

interface Entry {
  readonly sync: PolicySync;
  /** The first sync, once started. */
  first: Promise<SyncOutcome> | null;
}

/**
 * One policy sync per agent served. The set is bounded by the configured agent and the gateway's
 * credentials file, so the state held (a sync, its ETag and its policies) is too.
 */
export function createAgentSyncs(options: AgentSyncsOptions): AgentSyncs {
  const logger = options.logger.child({ component: 'policy_sync' });
  const entries = new Map<string, Entry>();
  let started = false;
  let stopped = false;

  for (const agent of options.agents) entries.set(agent, { sync: options.create(agent), first: null });

  return {
    async start() {
      if (started || stopped) return;
      started = true;
      await Promise.all([...entries.values()].map((entry) => (entry.first ??= entry.sync.start())));
    },
    async setAgents(agents) {
      if (stopped) return;
      const wanted = new Set(agents);
      for (const [agent, entry] of entries) {
        if (wanted.has(agent)) continue;
        entries.delete(agent);
        entry.sync.stop();
        options.dropped(agent);
        logger.info({ agent }, 'policy sync stopped: the agent is no longer served');
      }
      for (const agent of wanted) {
        if (entries.has(agent)) continue;
        const sync = options.create(agent);
        entries.set(agent, { sync, first: started ? sync.start() : null });
        logger.info({ agent }, 'policy sync started: the agent is now served');
      }
      const firsts: Promise<SyncOutcome>[] = [];
      for (const agent of wanted) {
        const first = entries.get(agent)?.first;
        if (first !== undefined && first !== null) firsts.push(first);
      }
      await Promise.all(firsts);
    },
    statuses() {
      return [...entries].map(([agent, entry]) => ({ agent, status: entry.sync.status }));
    },
    stop() {
      stopped = true;
      for (const entry of entries.values()) entry.sync.stop();
    },
  };
}
