import { STATUS_CODES } from 'node:http';
import type { Decision } from '../contract/decision.js';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.js';

/**
 * A response the proxy answers on its own behalf: a denial, an upstream failure or a malformed
 * request. Built here once, written either to a raw socket (CONNECT, client errors, limits) or
 * through a ServerResponse (plain HTTP). Bodies carry stable codes and fixed texts, never stacks
 * or internal messages.
 */
export interface Refusal {
  readonly status: number;
  readonly code: ErrorCode;
  /** Flat `[name, value, ...]`, without Content-Type/Content-Length/Connection. */
  readonly headers: readonly string[];
  readonly body: string;
}

/** Seconds a client should wait before retrying a 503 for want of a verdict or a 429/503 limit. */
const RETRY_AFTER_NO_VERDICT = '5';
const RETRY_AFTER_LIMIT = '1';
const MAX_REASON_HEADER = 200;

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  KZP_ERR_BAD_REQUEST: 400,
  KZP_ERR_MISDIRECTED: 421,
  KZP_ERR_EXPECTATION: 417,
  KZP_ERR_ORIGIN_FORM: 400,
  KZP_ERR_HEADER_TIMEOUT: 408,
  KZP_ERR_HEADERS_TOO_LARGE: 431,
  KZP_ERR_LIMIT_CONNECTIONS: 503,
  KZP_ERR_LIMIT_CLIENT_CONNECTIONS: 429,
  KZP_ERR_LIMIT_RATE: 429,
  KZP_ERR_LIMIT_DESTINATION: 503,
  KZP_ERR_BLOCKED: 403,
  KZP_ERR_GUARD: 403,
  KZP_ERR_NO_VERDICT: 503,
  KZP_ERR_DECIDER: 503,
  KZP_ERR_DNS: 502,
  KZP_ERR_UPSTREAM_CONNECT: 502,
  KZP_ERR_UPSTREAM_TIMEOUT: 504,
  KZP_ERR_UPSTREAM_TLS: 502,
  KZP_ERR_UPSTREAM_PROTOCOL: 502,
  KZP_ERR_PROXY_AUTH: 407,
  KZP_ERR_TRANSPARENT_DESTINATION: 400,
};

export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 502;
}

export interface RefusalSubject {
  readonly agent: string;
  readonly target: string;
}

/** The answer to a refused action: 403 for a block (guard or verdict), 503 when no verdict, 429 over the client's rate. */
export function decisionRefusal(decision: Decision, subject: RefusalSubject): Refusal {
  if (decision.source === 'limit') return rateRefusal(decision, subject);
  const code = decisionCode(decision);
  const status = code === 'KZP_ERR_NO_VERDICT' ? 503 : 403;
  const headers = ['X-Kaizen-Decision', 'block', 'X-Kaizen-Reason', headerSafe(decision.reason)];
  if (status === 503) headers.push('Retry-After', RETRY_AFTER_NO_VERDICT);
  const body = JSON.stringify({
    error: code,
    decision: 'block',
    reason: decision.reason,
    evidence: decision.evidence,
    agent: subject.agent,
    target: subject.target,
    verdict_id: decision.verdictId,
  });
  return { status, code, headers, body };
}

/** A limit, not a verdict: `X-Kaizen-Error` (never `X-Kaizen-Decision`) and the wait the limiter named. */
function rateRefusal(decision: Decision, subject: RefusalSubject): Refusal {
  const code = 'KZP_ERR_LIMIT_RATE';
  const wait = decision.evidence.find((item) => item.kind === 'retry_after')?.value ?? RETRY_AFTER_LIMIT;
  const body = JSON.stringify({ error: code, message: ERROR_CODES[code], agent: subject.agent, target: subject.target, retry_after: Number(wait) });
  return { status: 429, code, headers: ['X-Kaizen-Error', code, 'Retry-After', wait], body };
}

function decisionCode(decision: Decision): ErrorCode {
  if (decision.source === 'fail_closed') return 'KZP_ERR_NO_VERDICT';
  if (decision.source === 'guard') return 'KZP_ERR_GUARD';
  return 'KZP_ERR_BLOCKED';
}

export interface ErrorDetail {
  readonly target?: string;
  /** A constant text about the input (from the target parser); the code's own text otherwise. */
  readonly message?: string;
}

/** The answer to a failure that is not a verdict: malformed input, limits, upstream trouble. */
export function errorRefusal(code: ErrorCode, detail: ErrorDetail = {}): Refusal {
  const status = statusForCode(code);
  const headers = ['X-Kaizen-Error', code];
  if (code === 'KZP_ERR_LIMIT_CONNECTIONS' || code === 'KZP_ERR_LIMIT_CLIENT_CONNECTIONS' || code === 'KZP_ERR_LIMIT_DESTINATION') headers.push('Retry-After', RETRY_AFTER_LIMIT);
  if (code === 'KZP_ERR_PROXY_AUTH') headers.push('Proxy-Authenticate', 'Basic realm="kaizen-proxy"');
  const body = JSON.stringify({ error: code, message: detail.message ?? ERROR_CODES[code], target: detail.target });
  return { status, code, headers, body };
}

/** A complete HTTP/1.1 response that closes the connection, for writing to a raw socket. */
export function serializeRefusal(refusal: Refusal): string {
  let head = `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}\r\n`;
  for (let i = 0; i + 1 < refusal.headers.length; i += 2) {
    head += `${refusal.headers[i] ?? ''}: ${refusal.headers[i + 1] ?? ''}\r\n`;
  }
  head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(refusal.body)}\r\nConnection: close\r\n\r\n`;
  return head + refusal.body;
}

/** Printable ASCII only (a header cannot carry anything else safely), bounded in length. */
export function headerSafe(text: string): string {
  const cleaned = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return cleaned.length > MAX_REASON_HEADER ? cleaned.slice(0, MAX_REASON_HEADER) : cleaned;
}
