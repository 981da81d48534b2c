import { describe, expect, it } from 'vitest';
import { classifyTransportError } from '../../../src/verdict/transport-failure.js';

const withCode = (code: string, cause?: unknown): Error => Object.assign(new Error('x', { cause }), { code });

describe('classifyTransportError', () => {
  it('a reset before the answer is a retryable network failure', () => {
    expect(classifyTransportError(withCode('ECONNRESET'), 'request')).toEqual({ code: 'KZP_ERR_CONTROL_PLANE_NETWORK', retryable: true, detail: 'ECONNRESET' });
    expect(classifyTransportError(withCode('UND_ERR_SOCKET'), 'request').retryable).toBe(true);
  });

  it('refused and DNS failures are network failures, not retried', () => {
    for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']) {
      expect(classifyTransportError(withCode(code), 'request')).toMatchObject({ code: 'KZP_ERR_CONTROL_PLANE_NETWORK', retryable: false });
    }
  });

  it('timeouts are timeouts', () => {
    expect(classifyTransportError(withCode('UND_ERR_HEADERS_TIMEOUT'), 'request').code).toBe('KZP_ERR_CONTROL_PLANE_TIMEOUT');
  });

  it('a reset while reading the body is a retryable network failure, found on a cause too', () => {
    expect(classifyTransportError(withCode('ECONNRESET'), 'body')).toEqual({ code: 'KZP_ERR_CONTROL_PLANE_NETWORK', retryable: true, detail: 'ECONNRESET' });
    expect(classifyTransportError(withCode('EPIPE'), 'body').retryable).toBe(true);
    expect(classifyTransportError(withCode('UND_ERR_SOCKET', withCode('ECONNRESET')), 'body')).toEqual({ code: 'KZP_ERR_CONTROL_PLANE_NETWORK', retryable: true, detail: 'ECONNRESET' });
  });

  it('a body cut short by a clean close, or too large, or a parser error, is a malformed answer', () => {
    expect(classifyTransportError(withCode('UND_ERR_SOCKET'), 'body')).toMatchObject({ code: 'KZP_ERR_CONTROL_PLANE_ANSWER', retryable: false });
    expect(classifyTransportError(withCode('UND_ERR_RES_EXCEEDED_MAX_SIZE'), 'body')).toMatchObject({ code: 'KZP_ERR_CONTROL_PLANE_ANSWER', retryable: false });
    expect(classifyTransportError(withCode('HPE_INVALID_CONSTANT'), 'request').code).toBe('KZP_ERR_CONTROL_PLANE_ANSWER');
  });

  it('finds the code on a cause, and survives values that are not errors', () => {
    expect(classifyTransportError(new Error('wrapped', { cause: withCode('ECONNRESET') }), 'request').detail).toBe('ECONNRESET');
    expect(classifyTransportError('weird', 'request')).toEqual({ code: 'KZP_ERR_CONTROL_PLANE_NETWORK', retryable: false, detail: 'unknown' });
  });
});
