import { describe, expect, it } from 'vitest';
import { requestLineStart } from '../../../src/net/request-line-start.js';

const of = (text: string) => requestLineStart(Buffer.from(text, 'latin1'));

/** Every prefix of `text`, shortest first. */
function prefixes(text: string): string[] {
  return Array.from({ length: text.length }, (_, i) => text.slice(0, i + 1));
}

describe('requestLineStart', () => {
  it('takes request lines in every form once HTTP/ has come, and asks for more before', () => {
    for (const line of ['GET / HTTP/1.1', 'GET http://example.com/a?b HTTP/1.1', 'OPTIONS * HTTP/1.1', 'CONNECT example.com:443 HTTP/1.1', 'M-SEARCH * HTTP/1.1']) {
      const decidedAt = line.indexOf('HTTP/') + 'HTTP/'.length;
      for (const prefix of prefixes(`${line}\r\nHost: example.com\r\n`)) {
        expect(of(prefix), prefix).toBe(prefix.length < decidedAt ? 'need_more' : 'http');
      }
    }
    expect(of('')).toBe('need_more');
  });

  it('refuses, as soon as they cannot be a request line, protocols whose first byte looks like a method', () => {
    expect(of('SSH-2.0-OpenSSH_9.6\r\n')).toBe('not_http');
    expect(of('SSH-2.0-OpenSSH_9.6\r')).toBe('not_http');
    expect(of('PING\r\n')).toBe('not_http');
    expect(of('SET key value\r\n')).toBe('not_http');
    expect(of('SET key ')).toBe('need_more');
    expect(of('SET key v')).toBe('not_http');
    expect(of('EHLO example.com\r\n')).toBe('not_http');
  });

  it('refuses bytes no request line holds: controls, an empty method or target, a lower-case version', () => {
    expect(of('\x00\x01binary')).toBe('not_http');
    expect(of(' / HTTP/1.1')).toBe('not_http');
    expect(of('GET\t/')).toBe('not_http');
    expect(of('GET /a\x00')).toBe('not_http');
    expect(of('GET /a\r\n')).toBe('not_http');
    expect(of('GET / http/1.1')).toBe('not_http');
    expect(of('G(T / HTTP/1.1')).toBe('not_http');
  });

  it('accepts what node:http then parses (repeated spaces) or answers 400 itself (bytes past ASCII in the target, unknown methods)', () => {
    expect(of('GET  /  HTTP/1.1')).toBe('http');
    expect(of('GET /caf\xe9 HTTP/1.1')).toBe('http');
    expect(of('BREW /pot HTTP/1.1')).toBe('http');
  });
});
