import type { Action } from './action.js';

/** Where a decision came from; also the `source` field of the decision log line. */
export type DecisionSource =
  | 'guard'
  | 'cache'
  | 'stale'
  | 'control_plane'
  | 'local'
  | 'fail_open'
  | 'fail_closed'
  /** The transport's own per-client rate limit (limits.client_rate): no verdict was asked for. */
  | 'limit';

export interface Evidence {
  readonly kind: string;
  readonly value: string;
  readonly source: string;
}

export interface Decision {
  /** What Kaizen's verdict says. In monitor mode a block is still reported as 'block' here. */
  readonly decision: 'allow' | 'block';
  /** What the transport must do: false means refuse the connection or request. */
  readonly enforce: 'forward' | 'refuse';
  readonly reason: string;
  readonly evidence: readonly Evidence[];
  readonly source: DecisionSource;
  readonly verdictId: string | null;
  /** The control plane answered with a decision other than allow/block (e.g. "anomaly"): allowed and flagged. */
  readonly flagged: boolean;
  /** Monitor mode: would have been refused in enforce mode. */
  readonly wouldBlock: boolean;
}

/** Result of resolving the destination name once; the transport dials only these addresses. */
export type Resolution =
  | { readonly ok: true; readonly addresses: readonly string[] }
  | { readonly ok: false; readonly code: 'KZP_ERR_DNS'; readonly message: string };

export interface DecisionRequest {
  readonly action: Action;
  readonly agent: string;
  /**
   * The destination's addresses, resolved once by the transport (started before decide is called,
   * so DNS may overlap the verdict). For IP-literal targets it resolves at once to that address.
   */
  readonly resolution: Promise<Resolution>;
  /** Port the transport will dial (for the own-listener check of the address guard). */
  readonly port: number;
}

/** A request whose resolution the transport already holds (an IP literal, a cached name). */
export interface SettledDecisionRequest extends Omit<DecisionRequest, 'resolution'> {
  readonly resolved: Resolution;
}

/** The transport's only view of policy: one method, rich result. Must never reject. */
export interface Decider {
  decide(request: DecisionRequest): Promise<Decision>;
}

/**
 * What a Decider may offer besides: the same decision as decide() when it needs nothing to be
 * waited for (the local reflex, a fresh cached verdict), else undefined and the transport calls
 * decide(). A request decided this way takes no promise and no microtask. Must never throw.
 */
export interface ImmediateDecider {
  decideNow(request: SettledDecisionRequest): Decision | undefined;
}

/**
 * What a Decider may offer besides: the decision when the destination's name alone already refuses
 * the action (local rules that need no addresses: a `domains` rule, publishers, tools), so that the
 * transport refuses it before looking the name up and the name never reaches DNS. Undefined when
 * the name does not settle it (no such rule matched, or the decision would forward: monitor mode);
 * the transport then resolves and calls decide() as usual. Reports the refusal like decide() would.
 * Called only when the addresses are not known at once; must cost nothing (no allocation) for a
 * Decider without such rules. Must never throw.
 */
export interface NameRefusingDecider {
  refuseByName(action: Action, agent: string): Decision | undefined;
}
