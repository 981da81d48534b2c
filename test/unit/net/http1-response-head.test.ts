import { describe, expect, it } from 'vitest';
import { ResponseParser } from '../../../src/net/http1-response-parser.js';
import { recorder, feed, byteByByte, refusal } from './http1-parser-support.js';

describe('ResponseParser: head syntax', () => {
  it.each([
    ['HTTP/1.1 200', 200, ''],
    ['HTTP/1.1 200 ', 200, ''],
    ['HTTP/1.0 404 Not Found', 404, 'Not Found'],
    ['HTTP/1.1 599 x\ty \xe9', 599, 'x\ty \xe9'],
  ])('accepts the status line %j', (line, status, statusMessage) => {
    const { seen, error } = feed('GET', [`${line}\r\nContent-Length: 0\r\n\r\n`]);
    expect(error).toBeNull();
    expect(seen.heads[0]).toMatchObject({ status, statusMessage });
  });

  it.each([
    ['HTTP/2 200 OK', 'invalid status line'],
    ['HTTP/1.2 200 OK', 'unsupported HTTP version'],
    ['http/1.1 200 OK', 'invalid status line'],
    ['HTTP/1.1 20 OK', 'invalid status code'],
    ['HTTP/1.1 2000 OK', 'invalid status code'],
    ['HTTP/1.1 099 Low', 'status code out of range'],
    ['HTTP/1.1 600 High', 'status code out of range'],
    ['HTTP/1.1  200 OK', 'invalid status code'],
    ['HTTP/1.1 200 O\rK', 'bare CR in response head'],
    ['HTTP/1.1 200 O\x01K', 'invalid character in reason phrase'],
    ['', 'invalid status line'],
  ])('refuses the status line %j', (line, reason) => {
    expect(feed('GET', [`${line}\r\nContent-Length: 0\r\n\r\n`]).error).toEqual(refusal(reason));
  });

  it.each([
    ['obs-fold', 'X-A: one\r\n  two', 'obsolete line folding in response head'],
    ['a tab fold', 'X-A: one\r\n\ttwo', 'obsolete line folding in response head'],
    ['whitespace before the colon', 'Content-Length : 0', 'whitespace before the colon'],
    ['an empty name', ': value', 'invalid header name'],
    ['a non-token name', 'X(A): 1', 'invalid header name'],
    ['no colon', 'Just text', 'header line without a colon'],
    ['NUL in a value', 'X-A: a\0b', 'invalid character in header value'],
    ['DEL in a value', 'X-A: a\x7fb', 'invalid character in header value'],
    ['a bare CR in a value', 'X-A: a\rb', 'bare CR in response head'],
    ['a CR before CRLF', 'X-A: a\r', 'bare CR in response head'],
    ['a bare LF ending a line', 'X-A: a\nX-B: b', 'bare LF in response head'],
  ])('refuses a head with %s', (_name, lines, reason) => {
    expect(feed('GET', [`HTTP/1.1 200 OK\r\n${lines}\r\nContent-Length: 0\r\n\r\n`]).error).toEqual(refusal(reason));
  });

  it('refuses a bare LF ending the status line and a head ended by a bare LF', () => {
    expect(feed('GET', ['HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n']).error).toEqual(refusal('bare LF in response head'));
    expect(feed('GET', ['HTTP/1.1 200 OK', '\nContent-Length: 0\r\n\r\n']).error).toEqual(refusal('bare LF in response head'));
    expect(feed('GET', ['HTTP/1.1 200 OK\r', '\nContent-Length: 0\r\n\r', '\n']).error).toBeNull();
    expect(feed('GET', ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n']).error).toEqual(refusal('bare LF in response head'));
  });

  it('keeps names as sent, trims OWS from values, and allows latin1 octets', () => {
    const { seen } = feed('GET', ['HTTP/1.1 200 OK\r\nx-LOWER:  \t spaced out \t \r\nX-Empty:\r\nX-Latin: caf\xe9\r\nContent-Length: 0\r\n\r\n']);
    expect(seen.heads[0]?.rawHeaders).toEqual(['x-LOWER', 'spaced out', 'X-Empty', '', 'X-Latin', 'caf\xe9', 'Content-Length', '0']);
  });

  it('refuses a head over maxHeadBytes as soon as that much arrived without its end', () => {
    const { parser, error } = feed('GET', ['HTTP/1.1 200 OK\r\nX-Long: ', 'a'.repeat(64)], 64);
    expect(error).toEqual(refusal('response head too large'));
    expect(parser.busy).toBe(false);
    const oneLine = feed('GET', ['HTTP/1.1 200 OK' + 'k'.repeat(60)], 64);
    expect(oneLine.error).toEqual(refusal('response head too large'));
  });

  it('accepts a head of exactly maxHeadBytes, whole or byte by byte, and not one byte more', () => {
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    expect(feed('GET', [head], head.length).error).toBeNull();
    expect(feed('GET', byteByByte(head), head.length).seen.completes).toHaveLength(1);
    expect(feed('GET', [head], head.length - 1).error).toEqual(refusal('response head too large'));
    expect(feed('GET', byteByByte(head), head.length - 1).error).toEqual(refusal('response head too large'));
  });

  it('counts interim heads against the final head\'s maxHeadBytes, not each its own', () => {
    const interim = 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n';
    const final = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    const within = feed('GET', [interim + interim + final], 2 * interim.length + final.length);
    expect(within.error).toBeNull();
    expect(within.seen.heads.map((head) => head.status)).toEqual([200]);
    // Each head alone fits the limit; together they do not (an endless 1xx stream would never end).
    const past = feed('GET', [interim + interim + final], interim.length);
    expect(past.error).toEqual(refusal('interim responses past the head limit'));
    expect(past.seen.heads).toEqual([]);
  });

  it('reports the same error wherever the bytes are split', () => {
    const bad = [
      'HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX-A: a\r\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\n\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n',
    ];
    for (const response of bad) {
      const whole = feed('GET', [response]).error;
      expect(whole).not.toBeNull();
      for (let cut = 1; cut < response.length; cut++) {
        expect(feed('GET', [response.slice(0, cut), response.slice(cut)]).error).toEqual(whole);
      }
      expect(feed('GET', byteByByte(response)).error).toEqual(whole);
    }
  });
});

describe('ResponseParser: connection reuse', () => {
  it.each([
    ['HTTP/1.0', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', false],
    ['HTTP/1.0 with keep-alive', 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok', true],
    ['Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok', false],
    ['close among other tokens', 'HTTP/1.1 200 OK\r\nConnection: upgrade, Close\r\nContent-Length: 2\r\n\r\nok', false],
    ['HTTP/1.0 with Transfer-Encoding and keep-alive', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n', false],
  ])('%s: reusable is %s', (_name, response, reusable) => {
    const { seen, body, error } = feed('GET', [response]);
    expect(error).toBeNull();
    expect(body()).toBe('ok');
    expect(seen.completes).toEqual([{ trailers: [], reusable }]);
  });

  it('reads two responses on one connection, armed by expect() before each', () => {
    const { parser, seen, body } = recorder();
    parser.expect('GET');
    expect(parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none'))).toBeNull();
    parser.expect('HEAD');
    expect(parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n'))).toBeNull();
    parser.expect('GET');
    expect(parser.execute(Buffer.from('HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n'))).toBeNull();
    expect(seen.heads.map((head) => head.status)).toEqual([200, 200, 201]);
    expect(body()).toBe('onetwo');
    expect(seen.completes).toEqual([
      { trailers: [], reusable: true },
      { trailers: [], reusable: true },
      { trailers: [], reusable: true },
    ]);
  });

  it('refuses bytes after the response in the same chunk, and says the connection is not reusable', () => {
    const { parser, seen, error } = feed('GET', ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n']);
    expect(error).toEqual(refusal('data after the response'));
    expect(seen.completes).toEqual([{ trailers: [], reusable: false }]);
    expect(parser.busy).toBe(false);
  });

  it('refuses bytes after the response even when onComplete armed the parser again', () => {
    const parser: ResponseParser = new ResponseParser(
      {
        onHead: () => undefined,
        onBody: () => undefined,
        onComplete: () => {
          parser.expect('GET');
        },
      },
      { maxHeadBytes: 1024 },
    );
    parser.expect('GET');
    const response = 'HTTP/1.1 204 No Content\r\n\r\n';
    expect(parser.execute(Buffer.from(response + response))).toEqual(refusal('data after the response'));
  });

  it('refuses bytes when no response is expected, and stays failed', () => {
    const { parser } = recorder();
    const error = parser.execute(Buffer.from('HTTP/1.1 200 OK\r\n'));
    expect(error).toEqual(refusal('data after the response'));
    expect(parser.execute(Buffer.from('x'))).toEqual(error);
    expect(() => {
      parser.expect('GET');
    }).toThrow(/failed/);
  });

  it('refuses expect() while a response is in progress', () => {
    const { parser } = recorder();
    parser.expect('GET');
    expect(() => {
      parser.expect('GET');
    }).toThrow(/in progress/);
  });
});
