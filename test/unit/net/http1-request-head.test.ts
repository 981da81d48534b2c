import { describe, expect, it } from 'vitest';
import { hasBareLf, mayBeLeanHead, parseLeanRequestHead, type LeanRequestHead } from '../../../src/net/http1-request-head.js';

// The heads the fast lane takes itself (src/proxy/fast-lane.ts); every null hands the connection to
// node:http. Heads are latin1 text through the empty line, as the lane passes them.

/** A head from its request line and field lines (CRLF added after each, then the empty line). */
function head(requestLine: string, ...fields: string[]): string {
  return [requestLine, ...fields].map((line) => `${line}\r\n`).join('') + '\r\n';
}

const GET = 'GET http://example.com/x HTTP/1.1';

const accepted: readonly (readonly [string, string, LeanRequestHead])[] = [
  [
    'a plain GET with Host',
    head(GET, 'Host: example.com'),
    { connect: false, method: 'GET', url: 'http://example.com/x', rawHeaders: ['Host', 'example.com'], host: 'example.com', proxyAuthorization: undefined, close: false },
  ],
  [
    'no fields at all',
    head('GET http://example.com/ HTTP/1.1'),
    { connect: false, method: 'GET', url: 'http://example.com/', rawHeaders: [], host: undefined, proxyAuthorization: undefined, close: false },
  ],
  [
    'an https:// target with a query',
    head('HEAD https://example.com:8443/a/b?c=d&e HTTP/1.1', 'host: example.com:8443'),
    { connect: false, method: 'HEAD', url: 'https://example.com:8443/a/b?c=d&e', rawHeaders: ['host', 'example.com:8443'], host: 'example.com:8443', proxyAuthorization: undefined, close: false },
  ],
  [
    'values OWS-trimmed (SP and HTAB), names as sent, order kept',
    head('DELETE http://h/r HTTP/1.1', 'HOST:h', 'X-Pad: \t padded value \t ', 'x-empty:', 'X-Colon: a:b'),
    { connect: false, method: 'DELETE', url: 'http://h/r', rawHeaders: ['HOST', 'h', 'X-Pad', 'padded value', 'x-empty', '', 'X-Colon', 'a:b'], host: 'h', proxyAuthorization: undefined, close: false },
  ],
  [
    'Proxy-Authorization kept apart and in rawHeaders',
    head(GET, 'Host: example.com', 'Proxy-Authorization:  Basic dTpw '),
    { connect: false, method: 'GET', url: 'http://example.com/x', rawHeaders: ['Host', 'example.com', 'Proxy-Authorization', 'Basic dTpw'], host: 'example.com', proxyAuthorization: 'Basic dTpw', close: false },
  ],
  [
    'Connection: close',
    head(GET, 'Connection: close'),
    { connect: false, method: 'GET', url: 'http://example.com/x', rawHeaders: ['Connection', 'close'], host: undefined, proxyAuthorization: undefined, close: true },
  ],
  [
    'Connection: keep-alive, close',
    head(GET, 'Connection: keep-alive, close'),
    { connect: false, method: 'GET', url: 'http://example.com/x', rawHeaders: ['Connection', 'keep-alive, close'], host: undefined, proxyAuthorization: undefined, close: true },
  ],
  [
    'Connection: CLOSE in another case and a second Connection line',
    head(GET, 'Connection: keep-alive', 'connection: X-Hop ,CLOSE'),
    { connect: false, method: 'GET', url: 'http://example.com/x', rawHeaders: ['Connection', 'keep-alive', 'connection', 'X-Hop ,CLOSE'], host: undefined, proxyAuthorization: undefined, close: true },
  ],
  [
    'Connection: keep-alive is not close',
    head(GET, 'Connection: keep-alive'),
    { connect: false, method: 'GET', url: 'http://example.com/x', rawHeaders: ['Connection', 'keep-alive'], host: undefined, proxyAuthorization: undefined, close: false },
  ],
  [
    'obs-text (latin1 >= 0x80) in a value',
    head(GET, 'X-Name: caf\xe9'),
    { connect: false, method: 'GET', url: 'http://example.com/x', rawHeaders: ['X-Name', 'caf\xe9'], host: undefined, proxyAuthorization: undefined, close: false },
  ],
];

const connects: readonly (readonly [string, string, LeanRequestHead])[] = [
  [
    'CONNECT to a host name and port',
    head('CONNECT example.com:443 HTTP/1.1', 'Host: example.com:443', 'Proxy-Authorization: Basic dTpw'),
    { connect: true, method: 'CONNECT', url: 'example.com:443', rawHeaders: ['Host', 'example.com:443', 'Proxy-Authorization', 'Basic dTpw'], host: 'example.com:443', proxyAuthorization: 'Basic dTpw', close: false },
  ],
  [
    'CONNECT in HTTP/1.0 without fields',
    head('CONNECT 10.0.0.1:8443 HTTP/1.0'),
    { connect: true, method: 'CONNECT', url: '10.0.0.1:8443', rawHeaders: [], host: undefined, proxyAuthorization: undefined, close: false },
  ],
  [
    'CONNECT to a bracketed IPv6 literal',
    head('CONNECT [2001:db8::1]:443 HTTP/1.1'),
    { connect: true, method: 'CONNECT', url: '[2001:db8::1]:443', rawHeaders: [], host: undefined, proxyAuthorization: undefined, close: false },
  ],
];

describe('parseLeanRequestHead accepts', () => {
  it.each(accepted)('%s', (_name, text, expected) => {
    expect(parseLeanRequestHead(text)).toEqual(expected);
  });

  it.each(connects)('%s', (_name, text, expected) => {
    expect(parseLeanRequestHead(text)).toEqual(expected);
  });

  it('the common methods other than CONNECT as plain requests', () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'DELETE', 'POST', 'PUT', 'PATCH', 'TRACE', 'PURGE', 'QUERY']) {
      expect(parseLeanRequestHead(head(`${method} http://h/ HTTP/1.1`))).toMatchObject({ connect: false, method });
    }
  });
});

const rejected: readonly (readonly [string, string])[] = [
  ['HTTP/1.0 on a plain request (only CONNECT may be 1.0)', head('GET http://h/ HTTP/1.0', 'Host: h')],
  ['HTTP/2.0', head('GET http://h/ HTTP/2.0', 'Host: h')],
  ['HTTP/1.10', head('GET http://h/ HTTP/1.10')],
  ['a lower-case version', head('GET http://h/ http/1.1')],
  ['no version', head('GET http://h/')],
  ['a lower-case method', head('get http://h/ HTTP/1.1')],
  ['a mixed-case method', head('Get http://h/ HTTP/1.1')],
  ['a method with a digit', head('GET2 http://h/ HTTP/1.1')],
  ['a method node:http does not know', head('FOO http://h/ HTTP/1.1')],
  ['a registered method node:http does not know', head('UPDATEREDIRECTREF http://h/ HTTP/1.1')],
  ['a 21-letter method', head(`${'A'.repeat(21)} http://h/ HTTP/1.1`)],
  ['an empty method', head(' http://h/ HTTP/1.1')],
  ['CONNECT with an absolute-form target', head('CONNECT http://h/ HTTP/1.1')],
  ['CONNECT with a userinfo in its authority', head('CONNECT user@h:443 HTTP/1.1')],
  ['CONNECT with a path after its authority', head('CONNECT h:443/x HTTP/1.1')],
  ['CONNECT with a latin1 byte in its authority', head('CONNECT caf\xe9.test:443 HTTP/1.1')],
  ['CONNECT in HTTP/2.0', head('CONNECT h:443 HTTP/2.0')],
  ['a lower-case connect', head('connect h:443 HTTP/1.1')],
  ['CONNECT with Content-Length', head('CONNECT h:443 HTTP/1.1', 'Content-Length: 0')],
  ['CONNECT with Transfer-Encoding', head('CONNECT h:443 HTTP/1.1', 'Transfer-Encoding: chunked')],
  ['CONNECT with two Host headers', head('CONNECT h:443 HTTP/1.1', 'Host: h:443', 'Host: i:443')],
  ['CONNECT with a bare LF', 'CONNECT h:443 HTTP/1.1\r\nHost: h\n\r\n\r\n'],
  ['origin-form', head('GET /x HTTP/1.1', 'Host: h')],
  ['asterisk-form', head('OPTIONS * HTTP/1.1', 'Host: h')],
  ['authority-form on GET', head('GET h:80 HTTP/1.1', 'Host: h')],
  ['an ftp:// target', head('GET ftp://h/x HTTP/1.1')],
  ['an upper-case scheme', head('GET HTTP://h/x HTTP/1.1')],
  ['a ws:// target', head('GET ws://h/x HTTP/1.1')],
  ['a space inside the target', head('GET http://h/a b HTTP/1.1')],
  ['a tab inside the target', head('GET http://h/a\tb HTTP/1.1')],
  ['DEL in the target', head('GET http://h/a\x7fb HTTP/1.1')],
  ['a latin1 byte in the target', head('GET http://h/caf\xe9 HTTP/1.1')],
  ['two spaces after the method', head('GET  http://h/ HTTP/1.1')],
  ['two spaces before the version', head('GET http://h/  HTTP/1.1')],
  ['a trailing space after the version', head('GET http://h/ HTTP/1.1 ')],
  ['Content-Length', head(GET, 'Host: h', 'Content-Length: 5')],
  ['Content-Length: 0', head(GET, 'Host: h', 'Content-Length: 0')],
  ['content-length in lower case', head(GET, 'content-length: 0')],
  ['Transfer-Encoding', head(GET, 'Host: h', 'Transfer-Encoding: chunked')],
  ['Upgrade', head(GET, 'Host: h', 'Connection: Upgrade', 'Upgrade: websocket')],
  ['Expect', head(GET, 'Host: h', 'Expect: 100-continue')],
  ['Connection naming Content-Length (refused 400 by node:http\'s path)', head(GET, 'Host: h', 'Connection: keep-alive, Content-Length')],
  ['Connection naming Transfer-Encoding, in another case', head(GET, 'Host: h', 'Connection: TRANSFER-ENCODING')],
  ['Connection naming Host on a second line', head(GET, 'Host: h', 'Connection: keep-alive', 'connection: host ')],
  ['two Host headers', head(GET, 'Host: a', 'Host: b')],
  ['two Host headers of the same value, in two cases', head(GET, 'Host: h', 'host: h')],
  ['two Proxy-Authorization headers', head(GET, 'Proxy-Authorization: Basic YQ==', 'proxy-authorization: Basic Yg==')],
  ['an obs-fold line (SP)', head(GET, 'X-A: one', ' two')],
  ['an obs-fold line (HTAB)', head(GET, 'X-A: one', '\ttwo')],
  ['whitespace before the colon', head(GET, 'Host : h')],
  ['a tab before the colon', head(GET, 'Host\t: h')],
  ['a field line without a colon', head(GET, 'Host h')],
  ['an empty field name', head(GET, ': value')],
  ['a field name with a separator', head(GET, 'X(A): b')],
  ['a bare LF inside a field line', `${GET}\r\nX-A: a\nb\r\n\r\n`],
  ['a bare LF ending a field line', `${GET}\r\nX-A: a\nHost: h\r\n\r\n`],
  ['a bare LF ending the request line', `${GET}\nHost: h\r\n\r\n`],
  ['a bare CR inside a field value', head(GET, 'X-A: a\rb')],
  ['a bare CR ending a field line', `${GET}\r\nX-A: a\rHost: h\r\n\r\n`],
  ['a bare CR in the request line', head('GET http://h/\r HTTP/1.1')],
  ['NUL in a field value', head(GET, 'X-A: a\x00b')],
  ['a CTL (0x01) in a field value', head(GET, 'X-A: a\x01b')],
  ['ESC in a field value', head(GET, 'X-A: \x1b[31m')],
  ['DEL in a field value', head(GET, 'X-A: a\x7fb')],
  ['NUL in a field name', head(GET, 'X\x00A: b')],
];

describe('parseLeanRequestHead refuses (node:http gets the connection)', () => {
  it.each(rejected)('%s', (_name, text) => {
    expect(parseLeanRequestHead(text)).toBeNull();
  });

  it('refuses each disqualifying header however it is spelled, and takes the same head without it', () => {
    for (const line of ['Content-Length: 0', 'CONTENT-LENGTH: 0', 'transfer-encoding: chunked', 'UPGRADE: h2c', 'expect: 100-continue']) {
      expect(parseLeanRequestHead(head(GET, 'Host: h', line)), line).toBeNull();
    }
    expect(parseLeanRequestHead(head(GET, 'Host: h'))).not.toBeNull();
  });
});

describe('mayBeLeanHead: the first bytes decide whether the lane waits for the whole head', () => {
  const cases: [string, string, boolean][] = [
    ['an absolute-form GET', 'GET http://h/ HTTP/1.1\r\n', true],
    ['an https:// target', 'GET https://h/ HTTP/1.1\r\n', true],
    ['CONNECT', 'CONNECT h:443 HTTP/1.1\r\n', true],
    ['one letter so far', 'G', true],
    ['a scheme not all in yet', 'GET htt', true],
    ['https not all in yet', 'GET https:/', true],
    ['origin-form', 'GET /x HTTP/1.1\r\n', false],
    ['another scheme', 'GET ftp://h/ HTTP/1.1\r\n', false],
    ['a lower-case method', 'get http://h/ HTTP/1.1\r\n', false],
    ['a method with a hyphen (node:http takes it)', 'M-SEARCH http://h/ HTTP/1.1\r\n', false],
    ['a TLS ClientHello', '\x16\x03\x01\x02\x00\x01', false],
    ['30 letters without a space', 'A'.repeat(30), false],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(mayBeLeanHead(Buffer.from(text, 'latin1'))).toBe(expected);
  });
});

describe('hasBareLf: a head whose end (CRLF CRLF) is not found yet, and never will be', () => {
  const cases: [string, string, boolean][] = [
    ['CRLF line endings so far', 'GET http://h/ HTTP/1.1\r\nHost: h\r\n', false],
    ['no line end yet', 'GET http://h/ HT', false],
    ['a CR last, its LF still to come', 'GET http://h/ HTTP/1.1\r', false],
    ['a bare LF ending the request line', 'GET http://h/ HTTP/1.1\nHost: h', true],
    ['a bare LF ending a later field line', 'GET http://h/ HTTP/1.1\r\nHost: h\nX-A: b', true],
    ['a bare LF ending the head after CRLF lines', 'GET http://h/ HTTP/1.1\r\nHost: h\r\n\n', true],
    ['an LF first', '\nGET http://h/ HTTP/1.1\r\n', true],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(hasBareLf(Buffer.from(text, 'latin1'))).toBe(expected);
  });
});
