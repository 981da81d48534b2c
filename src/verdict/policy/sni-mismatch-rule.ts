import type { SniMismatchMode } from '../../config/types.js';
import type { Action } from '../../contract/action.js';
import type { LocalPolicy, LocalVerdict } from '../local-policy.js';

/**
 * `tls.sni_mismatch`: a tunnel to an allowed host must not carry a TLS session to another one
 * (domain fronting). The transport decides a ClientHello whose SNI is not the CONNECT host as a
 * `connect` action of its own (metadata.sni, metadata.connect_host); under `block` that action is a
 * local block with reason `sni_mismatch`, so it is logged, counted and reported to the control plane
 * like any other local block. Under `allow` the SNI's host is judged by the policies alone.
 */
export function withSniMismatchRule(inner: LocalPolicy, mode: () => SniMismatchMode): LocalPolicy {
  const mismatched = (action: Action): boolean =>
    action.kind === 'connect' && action.metadata.sni !== undefined && action.metadata.connect_host !== undefined && mode() === 'block';
  return {
    evaluate(action: Action, addresses: readonly string[], agent: string): LocalVerdict {
      return mismatched(action) ? sniMismatch(action, inner.evaluate(action, addresses, agent)) : inner.evaluate(action, addresses, agent);
    },
    // Refused whatever the SNI's host resolves to: not looked up either.
    refuseByName(action: Action, agent: string): LocalVerdict | undefined {
      return mismatched(action) ? sniMismatch(action, inner.refuseByName?.(action, agent)) : inner.refuseByName?.(action, agent);
    },
  };
}

/** The block, carrying the policies' findings (when they block too) after the two names. */
function sniMismatch(action: Action, findings: LocalVerdict | undefined): LocalVerdict {
  return {
    decision: 'block',
    reason: 'sni_mismatch',
    evidence: [
      { kind: 'sni', value: action.metadata.sni ?? '', source: 'kaizen-proxy' },
      { kind: 'connect_host', value: action.metadata.connect_host ?? '', source: 'kaizen-proxy' },
      ...(findings?.decision === 'block' ? findings.evidence : []),
    ],
  };
}
