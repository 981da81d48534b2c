import type { KaizenProxyError } from '../../errors/kaizen-error.js';

/**
 * `GET /v1/policy?agent=...` as the sync needs it: the raw answer (parsed by policy-answer.ts) or
 * "not modified" for a matching ETag. A failure is a value with a stable code, never a throw.
 */
export type PolicyFetchResult =
  | { readonly ok: true; readonly kind: 'modified'; readonly body: string; readonly etag: string | null }
  | { readonly ok: true; readonly kind: 'not_modified' }
  | { readonly ok: false; readonly error: KaizenProxyError };

export interface PolicyClient {
  /**
   * One attempt within `timeoutMs`; `etag` goes out as If-None-Match. `stop` abandons it at once
   * (the sync is stopping), ending as a failure. Never rejects.
   */
  fetchPolicies(agent: string, etag: string | null, timeoutMs: number, stop?: AbortSignal): Promise<PolicyFetchResult>;
}
