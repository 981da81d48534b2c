/**
 * The action: what the agent did on the network, in the shape Kaizen's control plane takes.
 * Built by src/action/, decided by a Decider, reported by src/verdict/.
 */
export type ActionKind = 'connect' | 'http' | 'tool_call';

export interface ActionMetadata {
  /** Always "egress": this proxy is Kaizen's ground-truth feed. */
  readonly source: 'egress';
  /** HTTP method, upper-case (http and tool_call only). */
  readonly method?: string;
  /** URL path without query string or fragment (http and tool_call only). */
  readonly path?: string;
  readonly scheme?: 'http' | 'https' | 'ws' | 'wss';
  /** TLS SNI seen in the ClientHello of a tunnel (issue 3). */
  readonly sni?: string;
  /** The CONNECT host when the action is about an SNI that differs from it. */
  readonly connect_host?: string;
  /** Unique id for deduplication of replays, and when it was observed (ISO 8601). */
  readonly event_id?: string;
  readonly observed_at?: string;
}

export interface Action {
  readonly kind: ActionKind;
  /** Canonical "host:port"; IPv6 literals bracketed: "[2001:db8::1]:443". */
  readonly target: string;
  readonly tool?: string;
  readonly publisher?: string;
  readonly hash?: string;
  readonly metadata: ActionMetadata;
}
