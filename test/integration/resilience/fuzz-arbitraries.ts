/**
 * fast-check arbitraries for the raw fuzz test: each yields the bytes to send and whether the
 * request is well-formed by construction (a reference stricter than any server needs to be, but
 * never stricter than what real clients send). `{id}` in the text is replaced by a unique marker.
 */
import fc from 'fast-check';

export interface FuzzCase {
  readonly text: string;
  readonly valid: boolean;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH'] as const;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Printable ASCII without space: what real clients put in a request-target (`{`, `|`... included). */
const TARGET_CHARS = /^[\x21-\x7e]*$/;
/** field-value: visible ASCII, space, tab and obs-text; never CR, LF or NUL. */
const VALUE_CHARS = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Fields that change framing or routing: never generated as "valid" (other tests cover them). */
const FRAMING_FIELDS = /^(content-length|transfer-encoding|host|connection|upgrade|expect|te|trailer|keep-alive|proxy-.*)$/i;

/** One `name:value` line; a colon inside a random name splits the line there, as any reader does. */
function fieldLineValid(line: string): boolean {
  const colon = line.indexOf(':');
  return colon > 0 && TOKEN.test(line.slice(0, colon)) && VALUE_CHARS.test(line.slice(colon + 1));
}

const junk = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary-ascii', maxLength });
const tokenText = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
const safePath = fc.stringMatching(/^[A-Za-z0-9._~\-/]{0,20}$/);

const method: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...METHODS).map((text) => ({ text, valid: true })) },
  { weight: 1, arbitrary: junk(10).map((text) => ({ text, valid: (METHODS as readonly string[]).includes(text) })) },
);

const version: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('HTTP/1.1', 'HTTP/1.0').map((text) => ({ text, valid: true })) },
  { weight: 1, arbitrary: junk(10).map((text) => ({ text, valid: text === 'HTTP/1.1' || text === 'HTTP/1.0' })) },
);

const crlf: fc.Arbitrary<FuzzCase> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ text: '\r\n', valid: true }) },
  { weight: 1, arbitrary: fc.constantFrom('\n', '\r', '\r\r\n', '\n\r').map((text) => ({ text, valid: false })) },
);

/** `base` is the origin's URL; the marker goes into the path. */
export function requestLine(base: string): fc.Arbitrary<FuzzCase> {
  const target = fc.oneof(
    { weight: 2, arbitrary: safePath.map((path) => ({ text: `${base}/fz/{id}/${path}`, valid: true })) },
    // Trailing spaces only widen the gap before the version, which llhttp allows (see below).
    { weight: 2, arbitrary: junk(20).map((suffix) => ({ text: `${base}/fz/{id}/${suffix}`, valid: TARGET_CHARS.test(suffix.replace(/ +$/, '')) })) },
    { weight: 1, arbitrary: junk(30).map((text) => ({ text, valid: false })) },
  );
  return fc.tuple(method, fc.constantFrom(' ', ' ', ' ', '  ', '\t', ''), target, version, crlf).map(([m, space, t, v, end]) => ({
    text: `${m.text}${space}${t.text} ${v.text}${end.text}Host: x${end.text}${end.text}`,
    // llhttp takes runs of spaces around the target as one; the proxy writes its own request line
    // upstream, so a next hop never sees them: accepted as well-formed here.
    valid: m.valid && (space === ' ' || space === '  ') && t.valid && v.valid && end.valid,
  }));
}

export function headers(base: string): fc.Arbitrary<FuzzCase> {
  const name = fc.oneof({ weight: 4, arbitrary: tokenText }, { weight: 1, arbitrary: junk(12) });
  const value = fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[\x20-\x7e]{0,30}$/) }, { weight: 1, arbitrary: junk(30) });
  const header = fc.tuple(name, value, crlf).map(([n, v, end]) => {
    const line = `${n}:${v}`;
    return { text: `${line}${end.text}`, valid: end.valid && fieldLineValid(line) && !FRAMING_FIELDS.test(line.slice(0, line.indexOf(':'))) };
  });
  return fc.array(header, { maxLength: 6 }).map((list) => ({
    text: `GET ${base}/fz/{id} HTTP/1.1\r\nHost: x\r\n${list.map((h) => h.text).join('')}\r\n`,
    valid: list.every((h) => h.valid),
  }));
}

export function chunkedBody(base: string): fc.Arbitrary<FuzzCase> {
  const chunk = fc.tuple(fc.stringMatching(/^[a-z]{1,40}$/), fc.integer({ min: -2, max: 2 }), fc.constantFrom('', ';a=b', ';x', ';"q"', ' ;', ';a="b c"'), crlf, crlf, fc.boolean()).map(
    ([data, skew, extension, afterSize, afterData, upper]) => {
      const declared = Math.max(0, data.length + skew);
      const size = upper ? declared.toString(16).toUpperCase() : declared.toString(16);
      return `${size}${extension}${afterSize.text}${data}${afterData.text}`;
    },
  );
  const trailer = fc.oneof(
    { weight: 3, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.tuple(tokenText, fc.stringMatching(/^[a-z0-9]{0,10}$/)).map(([n, v]) => `X-T-${n}: ${v}\r\n`) },
    { weight: 1, arbitrary: junk(20).map((text) => `${text}\r\n`) },
  );
  return fc.tuple(fc.array(fc.oneof({ weight: 5, arbitrary: chunk }, { weight: 1, arbitrary: junk(20) }), { maxLength: 4 }), trailer).map(([chunks, end]) => {
    const body = `${chunks.join('')}0\r\n${end}\r\n`;
    return { text: `POST ${base}/fz/{id} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${body}`, valid: chunkedValid(body) };
  });
}

const CHUNK_EXT = /^(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[^"\\\r\n]|\\.)*"))?)*$/;

/**
 * A strict reading of a chunked body (RFC 9112 §7.1): hex size, extensions, CRLF, exactly that
 * much data, CRLF; after the last chunk, field lines and an empty line ending the message. Whatever
 * the generator mutated, this says whether the bytes still happen to be a valid body.
 */
export function chunkedValid(body: string): boolean {
  let at = 0;
  const line = (): string | null => {
    const end = body.indexOf('\r\n', at);
    if (end < 0) return null;
    const text = body.slice(at, end);
    if (/[\r\n\0]/.test(text)) return null;
    at = end + 2;
    return text;
  };
  for (;;) {
    const sizeLine = line();
    const match = sizeLine === null ? null : /^([0-9a-fA-F]{1,15})(.*)$/.exec(sizeLine);
    if (match?.[1] === undefined || !CHUNK_EXT.test(match[2] ?? '')) return false;
    const size = parseInt(match[1], 16);
    if (size === 0) break;
    if (at + size + 2 > body.length || body.slice(at + size, at + size + 2) !== '\r\n') return false;
    at += size + 2;
  }
  for (;;) {
    const field = line();
    if (field === null) return false;
    // The message ends here; any bytes after it are the next message on the connection.
    if (field === '') return true;
    if (!fieldLineValid(field)) return false;
  }
}

/** CONNECT with a structured or random authority; `good` is the one authority that may tunnel. */
export function connectAuthority(good: string): fc.Arbitrary<string> {
  const host = fc.oneof(
    fc.constantFrom('127.0.0.1', '[::1]', 'localhost', 'example.com', '0x7f.1', '2130706433', '[v1.x]', 'xn--zz', 'a..b', '-a.b', 'ex%61mple.com', 'exa mple.com', 'ü.example'),
    fc.stringMatching(/^[a-z0-9.-]{0,30}$/),
    junk(30),
  );
  const port = fc.oneof(fc.constantFrom('', ':', ':0', ':65536', ':443', ':+80', ':0x50', ':99999999999999999999', ':-1'), fc.nat({ max: 70_000 }).map((n) => `:${n}`));
  return fc.oneof({ weight: 1, arbitrary: fc.constant(good) }, { weight: 6, arbitrary: fc.tuple(host, port).map(([h, p]) => `${h}${p}`) }, { weight: 2, arbitrary: junk(40) });
}
