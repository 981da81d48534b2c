/**
 * One complete request head on the admin port (RFC 9112), parsed as strictly as llhttp parses the
 * proxy port's: `METHOD SP request-target SP HTTP/1.x CRLF`, field lines, empty line. The admin
 * port serves three fixed paths to probes and scrapers, so anything unusual is refused (400) rather
 * than guessed at; what it keeps of a request is only what its answer needs.
 */
import { hasControl, isToken, parseFieldLines } from '../net/http1-head.js';

export interface AdminRequest {
  readonly method: string;
  /** The request-target up to its `?`: the query is dropped here, so it is never routed or logged. */
  readonly path: string;
  /** The connection closes after this request's answer: HTTP/1.0, `Connection: close`, or a body (see `body`). */
  readonly close: boolean;
}

/** Why a head is refused: malformed (400) or larger than the admin port takes (431). */
export type HeadRefusal = 400 | 431;

const SP = 0x20;
const DEL = 0x7f;
/** A bare LF: a head whose end was found by CRLF CRLF may still hide one inside a line (llhttp refuses it). */
const BARE_LF = /(?:^|[^\r])\n/;
/** A Content-Length element: digits between optional OWS (SP, HTAB; not the latin1 NBSP that trim() takes). */
const DECIMAL = /^[ \t]*([0-9]{1,15})[ \t]*$/;
/** The `close` option of a Connection element, case-insensitive, between optional OWS. */
const CLOSE = /^[ \t]*close[ \t]*$/i;

/**
 * `head` is the latin1 text of one head, from its request line through the empty line (CRLF CRLF).
 * Returns the request, or 400 when any part of it is malformed.
 */
export function parseAdminRequestHead(head: string): AdminRequest | HeadRefusal {
  const lineEnd = head.indexOf('\r\n');
  const methodEnd = head.indexOf(' ');
  if (methodEnd < 0 || methodEnd > lineEnd || !isToken(head, 0, methodEnd)) return 400;
  const targetEnd = head.indexOf(' ', methodEnd + 1);
  // Exactly one space on each side of the target, and exactly `HTTP/1.x` after it.
  if (targetEnd < 0 || targetEnd + 9 !== lineEnd || !isTarget(head, methodEnd + 1, targetEnd)) return 400;
  const http10 = head.startsWith('HTTP/1.0', targetEnd + 1);
  if (!http10 && !head.startsWith('HTTP/1.1', targetEnd + 1)) return 400;
  if (hasControl(head) || BARE_LF.test(head)) return 400;
  const fields: string[] = [];
  if (parseFieldLines(head, lineEnd + 2, fields) !== null) return 400;
  const framing = requestFraming(fields);
  if (framing === null) return 400;
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (node:http answered 400 without one too), at most one in 1.0.
  if (framing.hosts > 1 || (!http10 && framing.hosts === 0)) return 400;
  const target = head.slice(methodEnd + 1, targetEnd);
  const query = target.indexOf('?');
  return {
    method: head.slice(0, methodEnd),
    path: query < 0 ? target : target.slice(0, query),
    close: http10 || framing.close || framing.body,
  };
}

/** A request-target of visible ASCII, at least one character (no space, CTL or byte past ASCII). */
function isTarget(text: string, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c <= SP || c >= DEL) return false;
  }
  return true;
}

interface RequestFraming {
  readonly hosts: number;
  /** `Connection: close`. */
  readonly close: boolean;
  /**
   * The request has a body (Content-Length above 0, or any Transfer-Encoding). The admin port
   * never reads one: it answers the head and closes the connection, so a body can never be
   * mistaken for the next request (and no body is buffered for endpoints that take none).
   */
  readonly body: boolean;
}

/** Host count, Connection and body framing of the field lines; null when they are malformed. */
function requestFraming(fields: readonly string[]): RequestFraming | null {
  let hosts = 0;
  let close = false;
  let transferEncoding = false;
  let length = -1;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = (fields[i] ?? '').toLowerCase();
    const value = fields[i + 1] ?? '';
    if (name === 'host') hosts++;
    else if (name === 'transfer-encoding') transferEncoding = true;
    else if (name === 'content-length') {
      // One decimal length; a repeated or listed one must agree (RFC 9110 §8.6), as llhttp requires.
      for (const element of value.split(',')) {
        const digits = DECIMAL.exec(element)?.[1];
        if (digits === undefined) return null;
        const parsed = Number(digits);
        if (length >= 0 && parsed !== length) return null;
        length = parsed;
      }
    } else if (name === 'connection') {
      for (const element of value.split(',')) if (CLOSE.test(element)) close = true;
    }
  }
  // Both framings at once is a smuggling signature: refused, as llhttp refuses it.
  if (transferEncoding && length >= 0) return null;
  return { hosts, close, body: transferEncoding || length > 0 };
}
