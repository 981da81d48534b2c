/**
 * Validation of HTTP/1.1 response heads (RFC 9112) for http1-response-parser.ts, which hands over
 * a whole head (or trailer section) as one latin1 string: the status line, the field lines, the
 * body framing they announce, and chunk-size lines. Everything
 * is strict on purpose: the proxy relays what it parses, so a head two parsers could read
 * differently (request smuggling, response splitting) is refused rather than guessed at.
 */

const HTAB = 0x09;
const SP = 0x20;
const DEL = 0x7f;
const LF = 0x0a;
const SEMICOLON = 0x3b;
/** A CTL other than HTAB, CR and LF (DEL included): one regex over a whole head; CR and LF are checked where lines are split. */
const CONTROL = /[^\t\r\n\x20-\x7e\x80-\xff]/;
const BARE_CR = 'bare CR in response head';

/** RFC 9110 tchar, by octet (so a lookup replaces a regex on the per-line path). */
const TCHAR = new Uint8Array(256);
for (const char of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[char.charCodeAt(0)] = 1;

export interface StatusLine {
  readonly status: number;
  readonly statusMessage: string;
  /** HTTP/1.0: the connection closes after the response unless it says keep-alive. */
  readonly http10: boolean;
}

export interface ParsedHead extends StatusLine {
  readonly fields: string[];
}

/** How the body after a final head is delimited, and whether the connection survives it. */
export interface BodyFraming {
  readonly kind: 'none' | 'length' | 'chunked' | 'close';
  /** The body length for 'length' (0 for the other kinds). */
  readonly length: number;
  readonly reusable: boolean;
}

export function isOws(code: number | undefined): boolean {
  return code === SP || code === HTAB;
}

/** Whether text[start, end) is a non-empty RFC 9110 token (a field name, a method). */
export function isToken(text: string, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) if (TCHAR[text.charCodeAt(i)] !== 1) return false;
  return true;
}

function digitAt(text: string, index: number): number {
  const digit = text.charCodeAt(index) - 0x30;
  return digit >= 0 && digit <= 9 ? digit : -1;
}

/** Where the line starting at `at` ends (its CR), or -1 when a CR in it is not followed by LF. The text ends in CRLF. */
function lineEnd(text: string, at: number): number {
  const cr = text.indexOf('\r', at);
  return cr >= 0 && text.charCodeAt(cr + 1) === LF ? cr : -1;
}

/** `HTTP/1.x NNN reason` (reason may be empty, and so may its leading space); CTLs are checked by the caller. */
function parseStatusLine(line: string): StatusLine | string {
  if (line.length < 12 || !line.startsWith('HTTP/1.') || line.charCodeAt(8) !== SP) return 'invalid status line';
  const minor = digitAt(line, 7);
  if (!supportedVersion(1, minor)) return UNSUPPORTED_VERSION;
  const hundreds = digitAt(line, 9);
  const tens = digitAt(line, 10);
  const units = digitAt(line, 11);
  if (hundreds < 0 || tens < 0 || units < 0 || (line.length > 12 && line.charCodeAt(12) !== SP)) return 'invalid status code';
  const status = hundreds * 100 + tens * 10 + units;
  if (!statusInRange(status)) return STATUS_OUT_OF_RANGE;
  return { status, statusMessage: line.length > 12 ? line.slice(13) : '', http10: minor === 0 };
}

const UNSUPPORTED_VERSION = 'unsupported HTTP version';
const STATUS_OUT_OF_RANGE = 'status code out of range';

function supportedVersion(major: number, minor: number): boolean {
  return major === 1 && (minor === 0 || minor === 1);
}

function statusInRange(status: number): boolean {
  return status >= 100 && status <= 599;
}

/**
 * A whole head as latin1 text: status line, field lines, empty line, every LF already known to
 * follow a CR (the byte scan that found the head's end checked). Returns the status line and the
 * fields, or why the head is refused.
 */
export function parseHead(text: string): ParsedHead | string {
  const eol = lineEnd(text, 0);
  if (eol < 0) return BARE_CR;
  const statusLine = parseStatusLine(text.slice(0, eol));
  if (typeof statusLine === 'string') return statusLine;
  const fields: string[] = [];
  const problem = parseFieldLines(text, eol + 2, fields);
  if (problem !== null) return problem;
  const control = CONTROL.exec(text);
  if (control !== null) return control.index < eol ? 'invalid character in reason phrase' : 'invalid character in header value';
  // Field by field, not `{ ...statusLine, fields }`: on Node 20 a spread that gains a property makes
  // a new hidden class every time (see src/runtime/socket-options-clone.ts).
  return { status: statusLine.status, statusMessage: statusLine.statusMessage, http10: statusLine.http10, fields };
}

/** A CTL other than HTAB, CR and LF anywhere in `text`. */
export function hasControl(text: string): boolean {
  return CONTROL.test(text);
}

/** A whole trailer section (field lines, empty line) as latin1 text, checked like parseHead(). */
export function parseTrailers(text: string): string[] | string {
  const fields: string[] = [];
  const problem = parseFieldLines(text, 0, fields);
  if (problem !== null) return problem;
  return CONTROL.test(text) ? 'invalid character in header value' : fields;
}

/**
 * The field lines of a head from `from` through its empty line, appended to `fields` as name (as
 * sent) and value (OWS trimmed); returns why they are refused, or null. CTLs are the caller's check
 * (hasControl), over the whole head at once.
 */
export function parseFieldLines(text: string, from: number, fields: string[]): string | null {
  for (let at = from; ; ) {
    const eol = lineEnd(text, at);
    if (eol < 0) return BARE_CR;
    if (eol === at) return null;
    const problem = addFieldLine(text, at, eol, fields);
    if (problem !== null) return problem;
    at = eol + 2;
  }
}

/** Validates the `name: value` line text[start, end) and appends name (as sent) and value (OWS trimmed) to `fields`. */
function addFieldLine(text: string, start: number, end: number, fields: string[]): string | null {
  if (isOws(text.charCodeAt(start))) return 'obsolete line folding in response head';
  const colon = text.indexOf(':', start);
  if (colon < 0 || colon > end) return 'header line without a colon';
  if (!isToken(text, start, colon)) return isOws(text.charCodeAt(colon - 1)) ? 'whitespace before the colon' : 'invalid header name';
  let from = colon + 1;
  let to = end;
  while (from < to && isOws(text.charCodeAt(from))) from++;
  while (to > from && isOws(text.charCodeAt(to - 1))) to--;
  fields.push(text.slice(start, colon), text.slice(from, to));
  return null;
}

/** Trims SP and HTAB only (String.prototype.trim would also eat latin1 NBSP, which other parsers keep). */
function trimOws(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isOws(text.charCodeAt(start))) start++;
  while (end > start && isOws(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** The comma-separated elements of a field value, OWS trimmed, empty ones dropped (RFC 9110 §5.6.1). */
function listElements(value: string): string[] {
  const elements: string[] = [];
  for (const part of value.split(',')) {
    const element = trimOws(part);
    if (element !== '') elements.push(element);
  }
  return elements;
}

/** Transfer codings in order across all lines: whether `chunked` is the last one, or why they are refused. */
function transferCodings(values: readonly string[]): boolean | string {
  let chunked = false;
  let count = 0;
  for (const value of values) {
    for (const element of listElements(value)) {
      const semicolon = element.indexOf(';');
      const name = trimOws(semicolon < 0 ? element : element.slice(0, semicolon)).toLowerCase();
      if (!isToken(name, 0, name.length)) return 'invalid Transfer-Encoding';
      if (chunked) return 'chunked is not the last transfer coding';
      if (name === 'chunked' && semicolon >= 0) return 'invalid Transfer-Encoding';
      chunked = name === 'chunked';
      count++;
    }
  }
  return count === 0 ? 'empty Transfer-Encoding' : chunked;
}

/** The one length all Content-Length elements agree on, or why they are refused. */
function contentLength(values: readonly string[]): number | string {
  let length = -1;
  for (const value of values) {
    for (const part of value.includes(',') ? value.split(',') : [value]) {
      const element = trimOws(part);
      if (!/^[0-9]+$/.test(element)) return 'invalid Content-Length';
      const parsed = Number(element);
      if (parsed > Number.MAX_SAFE_INTEGER) return 'Content-Length too large';
      if (length >= 0 && parsed !== length) return 'conflicting Content-Length values';
      length = parsed;
    }
  }
  return length;
}

/**
 * RFC 9112 §6.3, in its order: no body for `noBody` (HEAD, 204, 304), then Transfer-Encoding
 * (chunked last, or read until close), then Content-Length, then until close. Both framings at
 * once is a smuggling signature: TE wins and the connection is not reused.
 */
export function bodyFraming(fields: readonly string[], http10: boolean, noBody: boolean): BodyFraming | string {
  const te: string[] = [];
  const cl: string[] = [];
  let close = false;
  let keepAlive = false;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] ?? '';
    const value = fields[i + 1] ?? '';
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') te.push(value);
    else if (name.length === 14 && name.toLowerCase() === 'content-length') cl.push(value);
    else if (name.length === 10 && name.toLowerCase() === 'connection') {
      const lower = value.toLowerCase();
      for (const token of lower === 'keep-alive' || lower === 'close' ? [lower] : listElements(lower)) {
        if (token === 'close') close = true;
        else if (token === 'keep-alive') keepAlive = true;
      }
    }
  }
  const chunked = te.length > 0 ? transferCodings(te) : false;
  if (typeof chunked === 'string') return chunked;
  const length = cl.length > 0 ? contentLength(cl) : -1;
  if (typeof length === 'string') return length;
  // RFC 9112 §6.1: TE in an HTTP/1.0 message means faulty framing; close after it.
  const reusable = !close && (!http10 || keepAlive) && !(te.length > 0 && (cl.length > 0 || http10));
  if (noBody) return { kind: 'none', length: 0, reusable };
  if (te.length > 0) return chunked ? { kind: 'chunked', length: 0, reusable } : { kind: 'close', length: 0, reusable: false };
  if (length >= 0) return { kind: 'length', length, reusable };
  return { kind: 'close', length: 0, reusable: false };
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * The size on a chunk-size line (`line[start, end)`, CRLF excluded): 1 to 16 hex digits, then
 * nothing or OWS `;` extensions (ignored, but free of CTLs). Returns -1 when the line is invalid.
 */
export function parseChunkSize(line: Buffer, start: number, end: number): number {
  let at = start;
  let size = 0;
  while (at < end) {
    const digit = hexValue(line[at]);
    if (digit < 0) break;
    size = size * 16 + digit;
    at++;
  }
  if (at === start || at - start > 16 || size > Number.MAX_SAFE_INTEGER) return -1;
  if (at === end) return size;
  while (at < end && isOws(line[at])) at++;
  if (at === end || line[at] !== SEMICOLON) return -1;
  for (let i = at + 1; i < end; i++) {
    const byte = line[i] ?? 0;
    if ((byte < SP && byte !== HTAB) || byte === DEL) return -1;
  }
  return size;
}
