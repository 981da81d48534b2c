import { isKaizenProxyError, KaizenProxyError } from '../errors/kaizen-error.js';

/** `tls_error` of a handshake that ended with neither an error nor a timeout: the destination closed. */
const CLOSED_DURING_HANDSHAKE = 'closed during the handshake';

/**
 * A TLS handshake with a destination that failed (the TCP connection was up): whatever Node names
 * the reason (a verification code such as INVALID_PURPOSE or UNABLE_TO_GET_ISSUER_CERT, the name
 * check's ERR_TLS_CERT_ALTNAME_INVALID, OpenSSL's ERR_SSL_*, a reset), it is KZP_ERR_UPSTREAM_TLS,
 * with that reason kept as its cause for the log (tlsFailureCode). `cause` is null when the
 * destination closed without one.
 */
export function tlsFailure(cause: Error | null): KaizenProxyError {
  return new KaizenProxyError('KZP_ERR_UPSTREAM_TLS', 'TLS with the destination failed', cause === null ? undefined : { cause });
}

/**
 * Why a handshake made by tlsFailure failed, for the `tls_error` field: Node's error code, never
 * its message (which can carry names and certificate fields). Null for any other error.
 */
export function tlsFailureCode(error: unknown): string | null {
  if (!isKaizenProxyError(error) || error.code !== 'KZP_ERR_UPSTREAM_TLS') return null;
  const cause: unknown = error.cause;
  if (cause === undefined) return CLOSED_DURING_HANDSHAKE;
  if (typeof cause === 'object' && cause !== null && 'code' in cause && typeof cause.code === 'string' && cause.code !== '') return cause.code;
  return 'unknown';
}
