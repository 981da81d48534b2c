import type { ActionLabels } from '../action/action-labels.js';
import type { AdmittedIdentity, Authenticate } from '../contract/client-identity.js';
import type { Decider, ImmediateDecider, NameRefusingDecider, Resolution } from '../contract/decision.js';
import type { ProxyObserver } from '../contract/observer.js';
import type { Target } from '../contract/target.js';
import type { Connector } from '../net/connector.js';
import type { IdleSweep } from '../net/idle-sweep.js';
import type { Logger } from '../observe/logger.js';
import type { ClientRate } from './client-rate.js';
import type { ConnectionRegistry } from './connection-registry.js';
import type { Interception } from './interception.js';
import type { Lifecycle } from './lifecycle.js';
import type { LimitRefusalLog } from './limit-refusal-log.js';
import type { UpstreamPool } from './upstream-pool.js';

/** Everything the handlers share, built once by createProxyServer. */
export interface ProxyContext {
  /**
   * decideNow is used when the decider has it (ImmediateDecider), decide otherwise; refuseByName
   * (NameRefusingDecider), when it has it, before a name is looked up.
   */
  readonly decider: Decider & Partial<ImmediateDecider> & Partial<NameRefusingDecider>;
  readonly agent: string;
  /**
   * Gateway mode: the identity that proved `agent`, in a request's or CONNECT's own context (null
   * in the shared one, and without a gateway). An intercepted session keeps its CONNECT's context
   * and asks `authenticate.admits` with it on each request: a reload may have removed it since.
   */
  readonly identity: AdmittedIdentity | null;
  readonly logger: Logger;
  readonly resolve: (target: Target) => Promise<Resolution>;
  /** resolve()'s answer when it is already known (an IP literal, a cached name), else undefined. */
  readonly resolveNow: (target: Target) => Resolution | undefined;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** The time bound of a lingering close after a refusal (drain-then-destroy.ts). */
  readonly lingerMs: number;
  /** Idle timeouts (idleTimeoutMs) of tunnels and lane connections, by one sweep. */
  readonly idleSweep: IdleSweep;
  readonly registry: ConnectionRegistry;
  readonly pool: UpstreamPool;
  /** How a TCP path to a destination is opened: direct, or through the upstream proxy (upstream_proxy). */
  readonly connector: Connector;
  /** Exchanges in flight and tunnels open, for graceful close and kaizen_proxy_active_tunnels (lifecycle.ts). */
  readonly lifecycle: Lifecycle;
  /** Metrics, the wrap summary and records subscribe here; null when nobody listens. */
  readonly observer: ProxyObserver | null;
  /** Gateway mode: names the agent of each request from Proxy-Authorization; null = no gateway. */
  readonly authenticate: Authenticate | null;
  /** Tool and publisher of each action (`tools:`, `publishers`); NO_LABELS when none are configured. */
  readonly labels: ActionLabels;
  /** TLS interception of the CONNECT targets the Interceptor selects; null when off. */
  readonly interception: Interception | null;
  /** limits.client_rate: each action takes a token from its client's bucket first; null when off. */
  readonly clientRate: ClientRate | null;
  /** The limits' rate-limited `refused` lines, a dial that found no descriptor among them (shared by every listener). */
  readonly refusalLog: LimitRefusalLog;
}
