/**
 * Request heads the proxy's fast lane takes on its own (src/proxy/fast-lane.ts): an absolute-form
 * `http://` or `https://` request in HTTP/1.1 that carries no body and asks for no protocol change,
 * or a CONNECT (HTTP/1.1 or 1.0) to an authority of host characters and a port.
 * The head is checked as strictly as the response heads we relay (http1-head.ts). Anything else,
 * malformed or merely unusual, gets null: the caller then hands the connection to node:http, whose
 * parser (llhttp) answers it. So this accepts a subset of what llhttp accepts, never more, and every
 * error answer stays node:http's.
 */
import { METHODS } from 'node:http';
import { FRAMING_FIELDS } from './framing-fields.js';
import { hasControl, parseFieldLines } from './http1-head.js';

export interface LeanRequestHead {
  /** CONNECT (`url` is its authority) or another method (`url` is absolute-form). */
  readonly connect: boolean;
  readonly method: string;
  /** The request-target as sent (absolute-form). */
  readonly url: string;
  /** Name/value pairs as sent, values OWS-trimmed. */
  readonly rawHeaders: string[];
  readonly host: string | undefined;
  readonly proxyAuthorization: string | undefined;
  /** `Connection: close`: the connection ends after this exchange. */
  readonly close: boolean;
}

const SP = 0x20;
/** A bare LF, which a head whose end was found by CRLF CRLF may still hide inside a line. */
const BARE_LF = /(?:^|[^\r])\n/;
/** The methods node:http's parser knows (it answers 400 to any other): the lane takes no more. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(METHODS);

/** Headers that bring a body, a protocol change or an interim answer: node:http's to handle. */
function disqualifies(lower: string): boolean {
  switch (lower) {
    case 'content-length':
    case 'transfer-encoding':
    case 'upgrade':
    case 'expect':
      return true;
    default:
      return false;
  }
}

/** Whether text[0, end) is a method node:http's parser knows. */
function isLeanMethod(text: string, end: number): boolean {
  return end > 0 && KNOWN_METHODS.has(text.slice(0, end));
}

/** Characters of a CONNECT authority the lane passes on (host names, IP literals, IPv6 brackets, zone ids, the port). */
const AUTHORITY_CHAR = /^[A-Za-z0-9.:\-_[\]%]+$/;

/** An absolute-form http(s) target of visible ASCII only. */
function isLeanTarget(text: string, start: number, end: number): boolean {
  if (!text.startsWith('http://', start) && !text.startsWith('https://', start)) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c <= SP || c >= 0x7f) return false;
  }
  return true;
}

/** `head` is latin1 text from the request line through the empty line (CRLF CRLF). */
export function parseLeanRequestHead(head: string): LeanRequestHead | null {
  const lineEnd = head.indexOf('\r\n');
  const methodEnd = head.indexOf(' ');
  if (methodEnd < 0 || !isLeanMethod(head, methodEnd)) return null;
  const connect = methodEnd === 7 && head.startsWith('CONNECT');
  const targetEnd = head.indexOf(' ', methodEnd + 1);
  if (targetEnd < 0 || targetEnd + 9 !== lineEnd) return null;
  if (!head.startsWith('HTTP/1.1', targetEnd + 1) && !(connect && head.startsWith('HTTP/1.0', targetEnd + 1))) return null;
  if (connect ? !AUTHORITY_CHAR.test(head.slice(methodEnd + 1, targetEnd)) : !isLeanTarget(head, methodEnd + 1, targetEnd)) return null;
  if (hasControl(head) || BARE_LF.test(head)) return null;
  const rawHeaders: string[] = [];
  if (parseFieldLines(head, lineEnd + 2, rawHeaders) !== null) return null;
  let host: string | undefined;
  let proxyAuthorization: string | undefined;
  let close = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = (rawHeaders[i] ?? '').toLowerCase();
    const value = rawHeaders[i + 1] ?? '';
    if (disqualifies(lower)) return null;
    if (lower === 'host') {
      if (host !== undefined) return null;
      host = value;
    } else if (lower === 'proxy-authorization') {
      if (proxyAuthorization !== undefined) return null;
      proxyAuthorization = value;
    } else if (lower === 'connection') {
      for (const element of value.split(',')) {
        const token = element.trim().toLowerCase();
        if (token === 'close') close = true;
        // A Connection naming the message's framing is refused (400): node:http's path answers it.
        else if (FRAMING_FIELDS.has(token)) return null;
      }
    }
  }
  return { connect, method: head.slice(0, methodEnd), url: head.slice(methodEnd + 1, targetEnd), rawHeaders, host, proxyAuthorization, close };
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Whether the bytes hold an LF not preceded by CR. A head ending in bare LFs never shows the CRLF
 * CRLF the lane looks for its end by, so the lane would wait for the header timeout (408) where
 * llhttp refuses the bare LF at once (400). Only asked of a head whose end is not found yet.
 */
export function hasBareLf(buffer: Buffer): boolean {
  for (let at = buffer.indexOf(LF); at >= 0; at = buffer.indexOf(LF, at + 1)) {
    if (at === 0 || buffer[at - 1] !== CR) return true;
  }
  return false;
}

/** Enough bytes to tell: the longest method that can pass, the space and `https://`. */
const DECIDABLE = 30;

/**
 * Whether the bytes so far can still be a head the lane takes: CONNECT, or an upper-case method,
 * one space and an `http://` or `https://` target. Decided on the first bytes, so the connections
 * of other requests go to node:http at once instead of after their whole head.
 */
export function mayBeLeanHead(buffer: Buffer): boolean {
  const limit = Math.min(buffer.length, DECIDABLE);
  let space = -1;
  for (let i = 0; i < limit; i++) {
    const byte = buffer[i] ?? 0;
    if (byte === SP) {
      space = i;
      break;
    }
    if (byte < 0x41 || byte > 0x5a) return false;
  }
  if (space < 0) return limit < DECIDABLE;
  if (space === 7 && buffer.toString('latin1', 0, 7) === 'CONNECT') return true;
  const scheme = buffer.toString('latin1', space + 1, Math.min(buffer.length, space + 9));
  if (scheme.length < 8) return 'http://'.startsWith(scheme) || 'https://'.startsWith(scheme);
  return scheme.startsWith('http://') || scheme === 'https://';
}
