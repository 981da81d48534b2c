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
  return {
    evaluate(action: Action, addresses: readonly string[], agent: string): LocalVerdict {
      const { sni, connect_host: connectHost } = action.metadata;
      if (action.kind === 'connect' && sni !== undefined && connectHost !== undefined && mode() === 'block') {
        const findings = inner.evaluate(action, addresses, agent);
        return {
          decision: 'block',
          reason: 'sni_mismatch',
          evidence: [
            { kind: 'sni', value: sni, source: 'kaizen-proxy' },
            { kind: 'connect_host', value: connectHost, source: 'kaizen-proxy' },
            ...(findings.decision === 'block' ? findings.evidence : []),
          ],
        };
      }
      return inner.evaluate(action, addresses, agent);
    },
  };
}
