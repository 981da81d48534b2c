import type { SecureContext } from 'node:tls';
import type { Target } from './target.js';

/**
 * TLS interception as the transport sees it: which CONNECT targets to terminate (a predicate built
 * from configuration) and the server context to terminate them with. Built by src/intercept.
 */
export interface Interceptor {
  /** Whether a CONNECT to this target is terminated (intercept.hosts); all others stay opaque tunnels. */
  intercepts(target: Target): boolean;
  /** A context whose certificate names the target's host, signed by the interception CA. */
  secureContext(target: Target): Promise<SecureContext>;
  /** The CA certificate clients must trust: named in the hint when a client refuses the certificate. */
  readonly caFile: string;
}
