import type { ErrorCode } from '../errors/codes.js';

/** An undici or socket error, reduced to what the client may act on and log. Never leaves src/verdict. */
export interface TransportFailure {
  readonly code: ErrorCode;
  /** A connection reset (before the answer, or while it was read): worth the one retry. */
  readonly retryable: boolean;
  /** The low-level error code (ECONNREFUSED, UND_ERR_SOCKET, ...) for the log line; never a message. */
  readonly detail: string;
}

const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
/**
 * A reset while the body is read. UND_ERR_SOCKET is not one: undici raises it ("other side closed")
 * when the peer closes cleanly before Content-Length is reached, which is a truncated answer.
 */
const BODY_RESET = new Set(['ECONNRESET', 'EPIPE']);
const TIMEOUT = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const MALFORMED = new Set(['UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'UND_ERR_RES_EXCEEDED_MAX_SIZE', 'UND_ERR_INFO']);

/**
 * `phase` says whether the status line had arrived. Before it, a reset is a network failure retried
 * once. While the body is read, a reset (RST: ECONNRESET, EPIPE) is the same connection failure and
 * gets the same retry; a body that ends early on a clean close, exceeds the size limit or does not
 * parse is a malformed answer, not retried (the control plane did answer, and would answer the same).
 * Neither marks the report delivered, though a 2xx status came: the report is spooled and sent
 * again rather than risk losing it (the control plane drops a duplicate by its event_id). A body
 * past the verdict answer's limit never gets here: it is too large, and delivered (answer-body.ts).
 */
export function classifyTransportError(error: unknown, phase: 'request' | 'body'): TransportFailure {
  const detail = lowLevelCode(error) ?? 'unknown';
  if (TIMEOUT.has(detail)) return { code: 'KZP_ERR_CONTROL_PLANE_TIMEOUT', retryable: false, detail };
  if (phase === 'body') {
    const reset = findCode(error, BODY_RESET);
    return reset === undefined
      ? { code: 'KZP_ERR_CONTROL_PLANE_ANSWER', retryable: false, detail }
      : { code: 'KZP_ERR_CONTROL_PLANE_NETWORK', retryable: true, detail: reset };
  }
  if (MALFORMED.has(detail) || detail.startsWith('HPE_')) return { code: 'KZP_ERR_CONTROL_PLANE_ANSWER', retryable: false, detail };
  return { code: 'KZP_ERR_CONTROL_PLANE_NETWORK', retryable: RESET.has(detail), detail };
}

/** The first string `code` on the error or its causes (undici sometimes wraps the socket error). */
function lowLevelCode(error: unknown): string | undefined {
  return findCode(error, null);
}

/** The first string `code` on the error or its causes that `wanted` holds (any code when null). */
function findCode(error: unknown, wanted: ReadonlySet<string> | null): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth += 1) {
    if ('code' in current && typeof current.code === 'string' && current.code !== '' && (wanted === null || wanted.has(current.code))) return current.code;
    current = current.cause;
  }
  return undefined;
}
