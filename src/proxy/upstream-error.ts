import type { ErrorCode } from '../errors/codes.js';
import { isKaizenProxyError } from '../errors/kaizen-error.js';
import { descriptorExhaustion } from '../net/descriptor-exhaustion.js';

type UpstreamCode = Extract<
  ErrorCode,
  'KZP_ERR_UPSTREAM_CONNECT' | 'KZP_ERR_UPSTREAM_TIMEOUT' | 'KZP_ERR_UPSTREAM_TLS' | 'KZP_ERR_UPSTREAM_PROTOCOL' | 'KZP_ERR_UPSTREAM_PROXY' | 'KZP_ERR_LIMIT_CONNECTIONS'
>;

const TIMEOUTS: ReadonlySet<string> = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/**
 * The stable code for a failure talking to a destination (502 unless it is a timeout: 504). No
 * descriptor for the socket (EMFILE, ENFILE; src/net/dial.ts names it KZP_ERR_LIMIT_CONNECTIONS)
 * is the proxy's own limit, not the destination's: 503 KZP_ERR_LIMIT_CONNECTIONS with Retry-After.
 */
export function upstreamErrorCode(error: unknown): UpstreamCode {
  if (isKaizenProxyError(error)) {
    const code = error.code;
    if (code === 'KZP_ERR_UPSTREAM_TIMEOUT' || code === 'KZP_ERR_UPSTREAM_TLS' || code === 'KZP_ERR_UPSTREAM_PROTOCOL' || code === 'KZP_ERR_UPSTREAM_PROXY' || code === 'KZP_ERR_LIMIT_CONNECTIONS') {
      return code;
    }
    return 'KZP_ERR_UPSTREAM_CONNECT';
  }
  if (descriptorExhaustion(error) !== null) return 'KZP_ERR_LIMIT_CONNECTIONS';
  const code = errorCodeOf(error);
  if (TIMEOUTS.has(code)) return 'KZP_ERR_UPSTREAM_TIMEOUT';
  // node:http's parser (the path with Expect or a chunked body) names its errors HPE_*.
  if (code.startsWith('HPE_')) return 'KZP_ERR_UPSTREAM_PROTOCOL';
  if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.includes('CERT') || code.includes('SIGNATURE')) {
    return 'KZP_ERR_UPSTREAM_TLS';
  }
  return 'KZP_ERR_UPSTREAM_CONNECT';
}

function errorCodeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return '';
}
