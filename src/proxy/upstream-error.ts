import type { ErrorCode } from '../errors/codes.js';
import { isKaizenProxyError } from '../errors/kaizen-error.js';

type UpstreamCode = Extract<
  ErrorCode,
  'KZP_ERR_UPSTREAM_CONNECT' | 'KZP_ERR_UPSTREAM_TIMEOUT' | 'KZP_ERR_UPSTREAM_TLS' | 'KZP_ERR_UPSTREAM_PROTOCOL' | 'KZP_ERR_UPSTREAM_PROXY'
>;

const TIMEOUTS: ReadonlySet<string> = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT']);

/** The stable code for a failure talking to a destination (502 unless it is a timeout: 504). */
export function upstreamErrorCode(error: unknown): UpstreamCode {
  if (isKaizenProxyError(error)) {
    const code = error.code;
    if (code === 'KZP_ERR_UPSTREAM_TIMEOUT' || code === 'KZP_ERR_UPSTREAM_TLS' || code === 'KZP_ERR_UPSTREAM_PROTOCOL' || code === 'KZP_ERR_UPSTREAM_PROXY') return code;
    return 'KZP_ERR_UPSTREAM_CONNECT';
  }
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
