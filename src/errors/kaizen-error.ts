import type { ErrorCode } from './codes.js';

/** The one error class we throw: matched on `code`, never on message text. */
export class KaizenProxyError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KaizenProxyError';
    this.code = code;
  }
}

export function isKaizenProxyError(value: unknown): value is KaizenProxyError {
  return value instanceof KaizenProxyError;
}
