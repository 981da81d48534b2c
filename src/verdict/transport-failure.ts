import type { ErrorCode } from '../errors/codes.js';

/** An undici or socket error, reduced to what the client may act on and log. Never leaves src/verdict. */
export interface TransportFailure {
  readonly code: ErrorCode;
  /** A connection reset before the answer: worth the one retry. */
  readonly retryable: boolean;
  /** The low-level error code (ECONNREFUSED, UND_ERR_SOCKET, ...) for the log line; never a message. */
  readonly detail: string;
}

const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const MALFORMED = new Set(['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_INFO']);

/**
 * `phase` says whether the status line had arrived: a failure while reading the body is a truncated
 * answer (not retried), a failure before it is a network failure (a reset is retried once).
 */
export function classifyTransportError(error: unknown, phase: 'request' | 'body'): TransportFailure {
  const detail = lowLevelCode(error) ?? 'unknown';
  if (TIMEOUT.has(detail)) return { code: 'KZP_ERR_CONTROL_PLANE_TIMEOUT', retryable: false, detail };
  if (phase === 'body' || MALFORMED.has(detail) || detail.startsWith('HPE_')) {
    return { code: 'KZP_ERR_CONTROL_PLANE_ANSWER', retryable: false, detail };
  }
  return { code: 'KZP_ERR_CONTROL_PLANE_NETWORK', retryable: RESET.has(detail), detail };
}

/** The first string `code` on the error or its causes (undici sometimes wraps the socket error). */
function lowLevelCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    if ('code' in current && typeof current.code === 'string' && current.code !== '') return current.code;
    current = current.cause;
  }
  return undefined;
}
