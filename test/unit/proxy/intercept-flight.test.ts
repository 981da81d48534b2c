import { describe, expect, it } from 'vitest';
import { judgeFlight, likelyKind } from '../../../src/proxy/intercept-flight.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('judgeFlight: which protocol an intercepted tunnel carries, from its first bytes', () => {
  it('a TLS handshake record is TLS from its second byte', () => {
    expect(judgeFlight(Buffer.from([0x16]))).toBeNull();
    expect(judgeFlight(Buffer.from([0x16, 0x03, 0x01]))).toBe('tls');
    expect(judgeFlight(Buffer.from([0x16, 0x00]))).toBe('other');
  });

  it('a request line is HTTP once its method and space are in, and undecided before', () => {
    expect(judgeFlight(bytes('G'))).toBeNull();
    expect(judgeFlight(bytes('GET'))).toBeNull();
    expect(judgeFlight(bytes('GET '))).toBe('http');
    expect(judgeFlight(bytes('POST /v1 HTTP/1.1\r\n'))).toBe('http');
    expect(judgeFlight(bytes('M-SEARCH * HTTP/1.1\r\n'))).toBe('http');
    expect(judgeFlight(bytes('UNSUBSCRIBE / HTTP/1.1\r\n'))).toBe('http');
    // The HTTP/2 preface is still served (and refused) by the interception, never passed through unseen.
    expect(judgeFlight(bytes('PRI * HTTP/2.0\r\n'))).toBe('http');
  });

  it('empty lines before a request line are skipped, as llhttp skips them, up to a bound', () => {
    expect(judgeFlight(bytes('\r\n'))).toBeNull();
    expect(judgeFlight(bytes('\r\nGET / HTTP/1.1\r\n'))).toBe('http');
    expect(judgeFlight(bytes('\r\n'.repeat(8)))).toBe('other');
  });

  it('anything else is another protocol as soon as no method can match', () => {
    expect(judgeFlight(bytes('SSH-2.0-OpenSSH_9.6\r\n'))).toBe('other');
    expect(judgeFlight(bytes('SS'))).toBe('other');
    expect(judgeFlight(bytes('get / HTTP/1.1\r\n'))).toBe('other');
    expect(judgeFlight(bytes('GETX / HTTP/1.1\r\n'))).toBe('other');
    expect(judgeFlight(bytes('GET\r\n'))).toBe('other');
    expect(judgeFlight(Buffer.from([0x00, 0x00, 0x00, 0x2c]))).toBe('other');
  });

  it('undecided bytes are taken for what they started like', () => {
    expect(likelyKind(Buffer.from([0x16]))).toBe('tls');
    expect(likelyKind(bytes('GE'))).toBe('http');
  });
});
