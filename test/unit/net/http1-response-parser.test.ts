import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { feed, cutAt, byteByByte, refusal, CHUNKED_WITH_TRAILERS } from './http1-parser-support.js';

describe('ResponseParser: framing', () => {
  it('reads a Content-Length response and offers the connection again', () => {
    const { seen, body, error } = feed('GET', ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello']);
    expect(error).toBeNull();
    expect(seen.heads).toEqual([
      { status: 200, statusMessage: 'OK', rawHeaders: ['Content-Type', 'text/plain', 'Content-Length', '5'], chunked: false, contentLength: 5 },
    ]);
    expect(body()).toBe('hello');
    expect(seen.completes).toEqual([{ trailers: [], reusable: true }]);
  });

  it('decodes a chunked body with extensions and trailers, split at every byte and fed byte by byte', () => {
    const whole = Buffer.from(CHUNKED_WITH_TRAILERS, 'latin1');
    const expected = { body: 'hello, world0123456789', trailers: ['X-Checksum', 'abc', 'X-Other', '2'] };
    const splits = [[whole], byteByByte(CHUNKED_WITH_TRAILERS)];
    for (let cut = 1; cut < whole.length; cut++) splits.push([whole.subarray(0, cut), whole.subarray(cut)]);
    for (const pieces of splits) {
      const { seen, body, error } = feed('GET', pieces);
      expect(error).toBeNull();
      expect(seen.heads.map((head) => [head.status, head.chunked, head.contentLength])).toEqual([[200, true, null]]);
      expect(body()).toBe(expected.body);
      expect(seen.bodies.every((chunk) => chunk.length > 0)).toBe(true);
      expect(seen.completes).toEqual([{ trailers: expected.trailers, reusable: true }]);
    }
  });

  it('decodes any chunked body however it is chunked and however the bytes arrive', () => {
    const payloads = fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 6 });
    fc.assert(
      fc.property(payloads, fc.array(fc.nat(400), { maxLength: 8 }), fc.boolean(), (chunks, cuts, extensions) => {
        const framed = chunks.map((data) => Buffer.concat([Buffer.from(`${data.length.toString(16)}${extensions ? ';x=y' : ''}\r\n`), data, Buffer.from('\r\n')]));
        const wire = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), ...framed, Buffer.from('0\r\n\r\n')]);
        const { seen, error } = feed('GET', cutAt(wire, cuts));
        expect(error).toBeNull();
        expect(Buffer.concat(seen.bodies).equals(Buffer.concat(chunks))).toBe(true);
        expect(seen.completes).toEqual([{ trailers: [], reusable: true }]);
      }),
      { seed: 9112, numRuns: 300 },
    );
  });

  it('never throws on arbitrary bytes, and fails or waits for more', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 4 }), (bytes, cuts) => {
        const wire = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'), bytes]);
        const { parser, seen, error } = feed('GET', cutAt(wire, cuts));
        expect(seen.bodies.every((chunk) => chunk.length > 0)).toBe(true);
        if (error === null && seen.completes.length === 0) expect(parser.busy).toBe(true);
      }),
      { seed: 9110, numRuns: 300 },
    );
  });

  it('hands chunk data out as it arrives, before the chunk is whole', () => {
    const { seen, body, error } = feed('GET', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc']);
    expect(error).toBeNull();
    expect(body()).toBe('abc');
    expect(seen.completes).toEqual([]);
  });

  it('completes a HEAD response right after the head, whatever its Content-Length says', () => {
    const { parser, seen, error } = feed('HEAD', ['HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n']);
    expect(error).toBeNull();
    expect(seen.heads[0]?.contentLength).toBeNull();
    expect(seen.bodies).toEqual([]);
    expect(seen.completes).toEqual([{ trailers: [], reusable: true }]);
    expect(parser.busy).toBe(false);
  });

  it.each([204, 304])('completes a %i right after the head even with a Content-Length', (status) => {
    const { seen, error } = feed('GET', [`HTTP/1.1 ${status} Nothing\r\nContent-Length: 10\r\n\r\n`]);
    expect(error).toBeNull();
    expect(seen.heads.map((head) => head.status)).toEqual([status]);
    expect(seen.completes).toEqual([{ trailers: [], reusable: true }]);
  });

  it.each([
    ['100 Continue', 'HTTP/1.1 100 Continue\r\n\r\n'],
    ['103 Early Hints', 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n'],
  ])('consumes an interim %s silently and reports the final head', (_name, interim) => {
    const { seen, body, error } = feed('GET', [interim + 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok']);
    expect(error).toBeNull();
    expect(seen.heads.map((head) => [head.status, head.rawHeaders])).toEqual([[200, ['Content-Length', '2']]]);
    expect(body()).toBe('ok');
    expect(seen.completes).toHaveLength(1);
  });

  it('tells of each interim status in order (100 Continue is relayed to a client that sent Expect)', () => {
    const { seen, body, error } = feed('POST', ['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n', 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok']);
    expect(error).toBeNull();
    expect(seen.interims).toEqual([100, 103]);
    expect(seen.heads.map((head) => head.status)).toEqual([201]);
    expect(body()).toBe('ok');
  });

  it('refuses a 101 (no upgrade was asked for)', () => {
    const { seen, error } = feed('GET', ['HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n']);
    expect(error).toEqual(refusal('unexpected 101 Switching Protocols'));
    expect(seen.heads).toEqual([]);
  });

  it.each([
    ['one line', 'Transfer-Encoding: gzip, chunked\r\n'],
    ['two lines', 'Transfer-Encoding: gzip\r\nTransfer-Encoding: CHUNKED\r\n'],
  ])('decodes chunked when it is the last transfer coding (%s), leaving the others to the client', (_name, te) => {
    const { seen, body, error } = feed('GET', [`HTTP/1.1 200 OK\r\n${te}\r\n3\r\nabc\r\n0\r\n\r\n`]);
    expect(error).toBeNull();
    expect(seen.heads[0]?.chunked).toBe(true);
    expect(body()).toBe('abc');
    expect(seen.completes).toEqual([{ trailers: [], reusable: true }]);
  });

  it.each(['chunked, gzip', 'chunked, chunked', 'chunked;x=1', ' , ', 'gzip deflate'])('refuses Transfer-Encoding: %s', (te) => {
    const { error } = feed('GET', [`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\n\r\n`]);
    expect(error?.code).toBe('KZP_ERR_UPSTREAM_PROTOCOL');
  });

  it('reads a Transfer-Encoding body without chunked until the origin closes, and does not reuse the connection', () => {
    const { parser, seen, body, error } = feed('GET', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nab', 'cd']);
    expect(error).toBeNull();
    expect(seen.heads[0]).toMatchObject({ chunked: false, contentLength: null });
    expect(seen.completes).toEqual([]);
    expect(parser.finish()).toBeNull();
    expect(body()).toBe('abcd');
    expect(seen.completes).toEqual([{ trailers: [], reusable: false }]);
  });

  it('reads an unframed HTTP/1.1 body until close', () => {
    const { parser, seen, body } = feed('GET', ['HTTP/1.1 200 OK\r\n\r\n', 'all of it']);
    expect(parser.finish()).toBeNull();
    expect(body()).toBe('all of it');
    expect(seen.completes).toEqual([{ trailers: [], reusable: false }]);
  });

  it('lets Transfer-Encoding win over Content-Length, and then never reuses the connection', () => {
    const { seen, body, error } = feed('GET', ['HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n']);
    expect(error).toBeNull();
    expect(seen.heads[0]).toMatchObject({ chunked: true, contentLength: null });
    expect(body()).toBe('hello');
    expect(seen.completes).toEqual([{ trailers: [], reusable: false }]);
  });

  it.each([
    ['a list of equal values', 'Content-Length: 3, 3\r\n'],
    ['equal values on two lines', 'Content-Length: 3\r\nContent-Length: 003\r\n'],
  ])('accepts %s', (_name, lines) => {
    const { seen, body, error } = feed('GET', [`HTTP/1.1 200 OK\r\n${lines}\r\nabc`]);
    expect(error).toBeNull();
    expect(seen.heads[0]?.contentLength).toBe(3);
    expect(body()).toBe('abc');
    expect(seen.completes).toHaveLength(1);
  });

  it('completes a Content-Length: 0 response right after the head', () => {
    const { seen, error } = feed('GET', ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']);
    expect(error).toBeNull();
    expect(seen.heads[0]?.contentLength).toBe(0);
    expect(seen.completes).toEqual([{ trailers: [], reusable: true }]);
  });

  it.each([
    ['differing values', 'Content-Length: 3\r\nContent-Length: 4', 'conflicting Content-Length values'],
    ['differing list elements', 'Content-Length: 3, 4', 'conflicting Content-Length values'],
    ['a plus sign', 'Content-Length: +5', 'invalid Content-Length'],
    ['a negative value', 'Content-Length: -1', 'invalid Content-Length'],
    ['hex', 'Content-Length: 0x10', 'invalid Content-Length'],
    ['an empty value', 'Content-Length:', 'invalid Content-Length'],
    ['an empty list element', 'Content-Length: 5,', 'invalid Content-Length'],
    ['a value past MAX_SAFE_INTEGER', 'Content-Length: 9007199254740992', 'Content-Length too large'],
  ])('refuses a Content-Length with %s', (_name, line, reason) => {
    const { seen, error } = feed('GET', [`HTTP/1.1 200 OK\r\n${line}\r\n\r\n`]);
    expect(error).toEqual(refusal(reason));
    expect(seen.heads).toEqual([]);
  });
});

describe('ResponseParser: chunked syntax', () => {
  it.each([
    ['a non-hex size', 'zz\r\n'],
    ['17 hex digits', '00000000000000001\r\n'],
    ['a size past MAX_SAFE_INTEGER', 'ffffffffffffffff\r\n'],
    ['whitespace without an extension', '5 \r\n'],
    ['a bare LF', '5\n'],
    ['a CTL in an extension', '5;a=\x01\r\n'],
  ])('refuses a chunk-size line with %s', (_name, line) => {
    const { error } = feed('GET', [`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${line}hello\r\n0\r\n\r\n`]);
    expect(error).toEqual(refusal('invalid chunk size line'));
  });

  it('refuses a chunk-size line longer than 4 KiB, without waiting for its end', () => {
    const { error } = feed('GET', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;', 'x'.repeat(4096)]);
    expect(error).toEqual(refusal('chunk size line too long'));
  });

  it.each([
    ['other bytes', 'helloXY0\r\n\r\n'],
    ['a bare LF', 'hello\n0\r\n\r\n'],
  ])('refuses chunk data followed by %s instead of CRLF', (_name, rest) => {
    const { body, error } = feed('GET', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n', rest]);
    expect(error).toEqual(refusal('missing CRLF after chunk data'));
    expect(body()).toBe('hello');
  });

  it('refuses trailers over maxHeadBytes', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    const { seen, error } = feed('GET', [head + '0\r\nX-Big: ' + 'y'.repeat(100)], 64);
    expect(seen.heads).toHaveLength(1);
    expect(error).toEqual(refusal('response head too large'));
  });

  it.each([
    ['whitespace before the colon', 'X-T : x\r\n', 'whitespace before the colon'],
    ['obs-fold', 'X-T: x\r\n y\r\n', 'obsolete line folding in response head'],
    ['a NUL', 'X-T: \0\r\n', 'invalid character in header value'],
    ['a bare CR', 'X-T: a\rb\r\n', 'bare CR in response head'],
    ['a bare LF', 'X-T: x\n', 'bare LF in response head'],
  ])('validates trailer lines like header lines: %s', (_name, trailer, reason) => {
    const { error } = feed('GET', [`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n${trailer}\r\n`]);
    expect(error).toEqual(refusal(reason));
  });
});
