import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { ErrorCode } from '../errors/codes.js';
import { startDeadline } from './deadline.js';
import type { PolicyFetchResult } from './policy/policy-client.js';
import { RequestNotSent, type RequestSlots } from './request-slots.js';
import { classifyTransportError } from './transport-failure.js';

export interface PolicyRoute {
  /** The control-plane client's request slots (its pool, key and upstream proxy). */
  readonly slots: RequestSlots;
  readonly origin: string;
  /** The base URL's path prefix, without a trailing slash. */
  readonly prefix: string;
  readonly headers: { readonly authorization: string; readonly accept: string; readonly 'user-agent': string };
}

const failure = (code: ErrorCode, message: string): KaizenProxyError => new KaizenProxyError(code, message);

/**
 * `GET /v1/policy?agent=`: one attempt (the next sync is the retry), the same connections, key and
 * error codes as verdicts. `stop` gives the request up at once (the sync stopping, the shutdown):
 * a request in flight would otherwise hold the pool's close until its deadline.
 */
export async function fetchPolicies(route: PolicyRoute, agent: string, etag: string | null, timeoutMs: number, stop?: AbortSignal): Promise<PolicyFetchResult> {
  const abandoned = (): PolicyFetchResult => ({ ok: false, error: failure('KZP_ERR_CONTROL_PLANE_NETWORK', 'policy request abandoned: the sync stopped') });
  if (stop?.aborted === true) return abandoned();
  const deadline = startDeadline(timeoutMs);
  const signal = stop === undefined ? deadline.signal : AbortSignal.any([deadline.signal, stop]);
  const { headers } = route;
  try {
    const response = await route.slots.request(
      {
        origin: route.origin,
        method: 'GET',
        path: `${route.prefix}/v1/policy?agent=${encodeURIComponent(agent)}`,
        headers: { authorization: headers.authorization, accept: headers.accept, 'user-agent': headers['user-agent'], ...(etag === null ? {} : { 'if-none-match': etag }) },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      },
      signal,
    );
    const { statusCode, body } = response;
    if (statusCode === 304) {
      await body.dump();
      return { ok: true, kind: 'not_modified' };
    }
    if (statusCode >= 200 && statusCode < 300) {
      const tag = response.headers.etag;
      return { ok: true, kind: 'modified', body: await body.text(), etag: typeof tag === 'string' && tag !== '' ? tag : null };
    }
    await body.dump().catch(() => undefined);
    const code: ErrorCode = statusCode === 401 || statusCode === 403 ? 'KZP_ERR_CONTROL_PLANE_AUTH' : 'KZP_ERR_CONTROL_PLANE_HTTP';
    return { ok: false, error: failure(code, `control plane answered ${statusCode} to the policy request`) };
  } catch (error) {
    if (deadline.signal.aborted) {
      const message = error instanceof RequestNotSent ? `policy request not sent: no free request slot within ${timeoutMs}ms` : `control plane sent no policies within ${timeoutMs}ms`;
      return { ok: false, error: failure('KZP_ERR_CONTROL_PLANE_TIMEOUT', message) };
    }
    if (signal.aborted) return abandoned();
    const classified = classifyTransportError(error, 'request');
    return { ok: false, error: failure(classified.code, `policy request failed (${classified.detail})`) };
  } finally {
    deadline.dispose();
  }
}
