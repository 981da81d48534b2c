import { describe, expect, it } from 'vitest';
import { judgeFlight, likelyKind, type FlightKind } from '../../../src/proxy/intercept-flight.js';
import { sslv2ClientHello } from '../../helpers/sslv2-hello.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

/**
 * How judgeFlight judges a whole flight, checked at every byte boundary: each prefix of it is
 * undecided or judged the same, so the judgement holds however the client splits its writes (a
 * write ending between CR and LF, a byte at a time) and however the reads then join them.
 */
function judgedAtEverySplit(text: string): FlightKind | null {
  const whole = bytes(text);
  const judged = judgeFlight(whole);
  for (let end = 1; end < whole.length; end += 1) {
    const early = judgeFlight(whole.subarray(0, end));
    if (early !== null && early !== judged) {
      throw new Error(`${JSON.stringify(text.slice(0, end))} is judged ${early}, the whole flight ${String(judged)}`);
    }
  }
  return judged;
}

describe('judgeFlight: which protocol an intercepted tunnel carries, from its first bytes', () => {
  it('a TLS record of a type a server may read first is TLS from its first byte, whatever its version', () => {
    expect(judgeFlight(Buffer.from([0x16]))).toBe('tls');
    expect(judgeFlight(Buffer.from([0x16, 0x03, 0x01]))).toBe('tls');
    // Go's crypto/tls drops a warning alert before the ClientHello, and takes any version below 0x1000.
    expect(judgeFlight(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x01, 0x64]))).toBe('tls');
    expect(judgeFlight(Buffer.from([0x16, 0x00, 0x00, 0x00, 0x2e]))).toBe('tls');
    expect(judgeFlight(Buffer.from([0x16, 0x0f, 0xff]))).toBe('tls');
    // rustls knows DTLS's versions; any other version is the interception's TLS server's to refuse.
    expect(judgeFlight(Buffer.from([0x16, 0xfe, 0xfd]))).toBe('tls');
    expect(judgeFlight(Buffer.from([0x16, 0x47, 0x45]))).toBe('tls');
    expect(judgeFlight(Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]))).toBe('tls');
    expect(judgeFlight(Buffer.from([0x17, 0x03, 0x03, 0x00, 0x10]))).toBe('tls');
    // The content types around them are no record a TLS server reads first.
    expect(judgeFlight(Buffer.from([0x13, 0x03, 0x01]))).toBe('other');
    expect(judgeFlight(Buffer.from([0x18, 0x03, 0x01]))).toBe('other');
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

  it('an empty line, however many follow, is HTTP: llhttp skips any number before a request line', () => {
    expect(judgeFlight(bytes('\r'))).toBe('http');
    expect(judgeFlight(bytes('\n'))).toBe('http');
    expect(judgeFlight(bytes('\r\nGET / HTTP/1.1\r\n'))).toBe('http');
    expect(judgeFlight(bytes(`${'\r\n'.repeat(5)}DELETE /v1/customers/42 HTTP/1.1\r\n`))).toBe('http');
    expect(judgeFlight(bytes('\r\n'.repeat(10_000)))).toBe('http');
    // Not a request the parser takes, but never passed to the destination unseen: it answers 400.
    expect(judgeFlight(bytes('\r\nSSH-2.0-OpenSSH_9.6\r\n'))).toBe('http');
  });

  it('a ClientHello in SSL 2.0 record format is TLS once its message type is in', () => {
    const hello = sslv2ClientHello();
    expect(judgeFlight(hello.subarray(0, 1))).toBeNull();
    expect(judgeFlight(hello.subarray(0, 2))).toBeNull();
    expect(judgeFlight(hello.subarray(0, 3))).toBe('tls');
    expect(judgeFlight(hello)).toBe('tls');
    // An SSL 2.0 record that is no CLIENT-HELLO starts nothing a server would answer.
    expect(judgeFlight(Buffer.from([0x80, 0x2e, 0x04]))).toBe('other');
  });

  it('a request line with a method node:http does not know is HTTP once it ends in a version: a lenient destination would serve it', () => {
    expect(judgeFlight(bytes('get / HTTP/1.1\r\n'))).toBe('http');
    expect(judgeFlight(bytes('GETX /v1/customers/42 HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('http');
    expect(judgeFlight(bytes('get /x HTTP/1.1\n'))).toBe('http');
    // Undecided until the line ends, or until it is too long to be anything but a request line.
    expect(judgeFlight(bytes('get'))).toBeNull();
    expect(judgeFlight(bytes('GETX /v1/customers'))).toBeNull();
    expect(judgeFlight(bytes(`get /${'a'.repeat(9000)}`))).toBe('http');
  });

  it('whitespace before the method or between the words (Python splits on any) is HTTP too', () => {
    expect(judgeFlight(bytes(' GET /admin/x HTTP/1.0\r\n'))).toBe('http');
    expect(judgeFlight(bytes(' GET /admin/x\r\n'))).toBe('http');
    expect(judgeFlight(bytes('\tGET\t'))).toBe('http');
    expect(judgeFlight(bytes('GET\t/admin/x\tHTTP/1.0\r\n'))).toBe('http');
    expect(judgeFlight(bytes('GET\x0c/admin/x\x1fHTTP/1.0\r\n'))).toBe('http');
    expect(judgeFlight(bytes('getx\t/admin/x\thttp/1.1\r\n'))).toBe('http');
    expect(judgeFlight(bytes(' '))).toBeNull();
    expect(judgeFlight(bytes('  GE'))).toBeNull();
    // Linear: a long line of spaces is judged at once.
    expect(judgeFlight(bytes(`A${' '.repeat(8000)}\r\n`))).toBe('other');
  });

  it('a CR within the first line stands between words, as Python splits them: HTTP', () => {
    expect(judgeFlight(bytes('GET\r/'))).toBe('http');
    expect(judgedAtEverySplit('GET\r/ HTTP/1.0\r\n\r\n')).toBe('http');
    expect(judgedAtEverySplit('GET\r/admin/x\r\n')).toBe('http');
    expect(judgedAtEverySplit('getx\r/admin/x\rHTTP/1.1\r\n')).toBe('http');
    expect(judgedAtEverySplit('FOO /x\r\rHTTP/1.1\r\n')).toBe('http');
  });

  it('a first line stays undecided until its LF, whatever CRs end it so far', () => {
    // A write split between CR and LF: the CR may end the line, or stand between words.
    expect(judgeFlight(bytes('FOO /first HTTP/1.1\r'))).toBeNull();
    expect(judgeFlight(bytes('FOO /first HTTP/1.1\r\r'))).toBeNull();
    expect(judgeFlight(bytes('FOO\r'))).toBeNull();
    expect(judgeFlight(bytes('GET\r'))).toBeNull();
    expect(judgeFlight(bytes('SSH-2.0-OpenSSH_9.6\r'))).toBeNull();
    expect(judgedAtEverySplit('FOO /first HTTP/1.1\r\nHost: x\r\n\r\nFOO /second HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('http');
    expect(judgedAtEverySplit('get /x HTTP/1.1\r\r\n')).toBe('http');
    expect(judgedAtEverySplit(' GET /admin/x\r\n')).toBe('http');
    expect(judgedAtEverySplit('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).toBe('http');
    expect(judgedAtEverySplit(`FOO /${'a'.repeat(9000)} HTTP/1.0\r\n`)).toBe('http');
    // The CRs ending a whole line end it (Python strips them): what is left is no request line.
    expect(judgedAtEverySplit('GET\r\n')).toBe('other');
    expect(judgedAtEverySplit('FOO\r\r\n')).toBe('other');
    expect(judgedAtEverySplit('SSH-2.0-OpenSSH_9.6\r\n')).toBe('other');
    expect(judgedAtEverySplit('SSH-2.0-OpenSSH_9.6 Debian-2\r\n')).toBe('other');
    expect(judgedAtEverySplit('get session:42\r\n')).toBe('other');
    expect(judgedAtEverySplit('*1\r\n$4\r\nPING\r\n')).toBe('other');
    // Linear: a long run of CRs is judged at once.
    expect(judgeFlight(bytes(`A${'\r'.repeat(8000)}B\r\n`))).toBe('other');
    expect(judgeFlight(bytes(`A${'\r'.repeat(9000)}`))).toBe('http');
  });

  it('anything else is another protocol as soon as it cannot be a request line', () => {
    expect(judgeFlight(bytes('SSH-2.0-OpenSSH_9.6\r\n'))).toBe('other');
    expect(judgeFlight(bytes('SSH-2.0-OpenSSH_9.6 Debian-2\r\n'))).toBe('other');
    expect(judgeFlight(bytes('SS'))).toBeNull();
    expect(judgeFlight(bytes('GET\r\n'))).toBe('other');
    expect(judgeFlight(bytes('*1\r\n$4\r\nPING\r\n'))).toBe('other');
    expect(judgeFlight(bytes('SET key value\r\n'))).toBe('other');
    // memcached's text protocol: a lower-case word is no method node:http or HTTP/0.9 knows.
    expect(judgeFlight(bytes('get session:42\r\n'))).toBe('other');
    expect(judgeFlight(bytes('{"jsonrpc":"2.0"}'))).toBe('other');
    expect(judgeFlight(Buffer.from([0x00, 0x00, 0x00, 0x2c]))).toBe('other');
  });

  it('undecided bytes are taken for what they started like', () => {
    expect(likelyKind(Buffer.from([0x16]))).toBe('tls');
    expect(likelyKind(Buffer.from([0x15, 0x03]))).toBe('tls');
    expect(likelyKind(Buffer.from([0x80, 0x2e]))).toBe('tls');
    expect(likelyKind(bytes('GE'))).toBe('http');
  });
});
