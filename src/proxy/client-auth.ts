import type { ProxyContext } from './proxy-context.js';
import { errorRefusal, type Refusal } from './refusal.js';

export type ClientAuth =
  /** `proxy` carries the authenticated agent and its identity (the same context when there is no gateway). */
  | { readonly ok: true; readonly proxy: ProxyContext }
  /**
   * `session`: refused inside an intercepted session (its identity removed by a reload), the
   * session's target, which the closed line names; the connection ends after the 407. Else null.
   */
  | { readonly ok: false; readonly proxy: ProxyContext; readonly refusal: Refusal; readonly session: string | null };

export const PROXY_AUTH_REQUIRED = errorRefusal('KZP_ERR_PROXY_AUTH');

/**
 * Gateway mode: the agent comes from `Proxy-Authorization: Basic agent:token`; missing or wrong
 * credentials get 407 with `Proxy-Authenticate: Basic realm="kaizen-proxy"` (clients such as git
 * send credentials only after that challenge). The request's handlers then see a context whose
 * `agent` is the authenticated one, so decisions, logs and events carry it, and whose `identity`
 * an intercepted session checks again on each request. Without a gateway the configured agent
 * stands and nothing is asked.
 */
export function authenticateClient(proxy: ProxyContext, header: string | undefined): ClientAuth {
  if (proxy.authenticate === null) return { ok: true, proxy };
  const identity = proxy.authenticate(header);
  if (!identity.ok) return { ok: false, proxy, refusal: PROXY_AUTH_REQUIRED, session: null };
  return { ok: true, proxy: { ...proxy, agent: identity.agent, identity } };
}
