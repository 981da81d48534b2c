import { METHODS } from 'node:http';
import type { Socket } from 'node:net';
import { startsSsl2ClientHello } from '../net/client-hello.js';

/** What an intercepted tunnel's first client bytes can be: the two protocols the proxy terminates, or another one. */
export type FlightKind = 'tls' | 'http' | 'other';

/** The first flight of an intercepted tunnel, as readInterceptFlight judged it. */
export type InterceptFlight =
  /** TLS or HTTP from the client: `bytes` go back into the socket (unshift) for the interception to read. */
  | { readonly kind: 'tls' | 'http'; readonly bytes: Buffer }
  /** Another protocol (SSH, say) from the client: the bytes go to the destination first, `ended` with the client's FIN. */
  | { readonly kind: 'other'; readonly chunks: readonly Buffer[]; readonly ended: boolean }
  /** Nothing within the wait: perhaps a protocol whose server speaks first (SMTP, FTP). */
  | { readonly kind: 'silent' }
  /** The client closed (or sent only its FIN) first. */
  | { readonly kind: 'gone' };

/**
 * The content types of TLS records a server may read first: change_cipher_spec, alert, handshake
 * and application_data. Not only a handshake: Go's crypto/tls drops a warning alert before the
 * ClientHello, and takes a first record whose version is anything below 0x1000 (rustls takes
 * DTLS's 0xfeXX too). A record of one of these types is TLS whatever its version, for the
 * interception's TLS server to refuse what it cannot read: never passed to a lenient destination.
 */
const TLS_FIRST_TYPE = 0x14;
const TLS_LAST_TYPE = 0x17;
const CR = 0x0d;
const LF = 0x0a;
/**
 * Every method node:http's parser (llhttp) takes, each with its space, and PRI (the HTTP/2
 * preface, which llhttp parses too): a client that sends one of these is served by the
 * interception, never passed to the destination unseen.
 */
const REQUEST_STARTS: readonly Buffer[] = [...METHODS, 'PRI'].map((method) => Buffer.from(`${method} `, 'latin1'));
const LONGEST_START = Math.max(...REQUEST_STARTS.map((start) => start.length));
/**
 * What a lenient destination may split a request line on: any whitespace Python's str.split takes
 * in a Latin-1 line (http.server reads up to the LF, strips the CRs and LFs that end the line, and
 * splits the rest so), tabs, form feeds and a CR within the line included, not only the one space.
 */
const SEP = '[\\t\\x0b\\x0c\\r \\x1c-\\x1f\\x85\\xa0]';
const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
/** A known method after any leading whitespace, then whitespace: HTTP even without a version (HTTP/0.9's `GET /x`). */
const KNOWN_METHOD_LINE = new RegExp(`^${SEP}*(?:${[...METHODS, 'PRI'].map((method) => method.replace(/[-]/g, '\\-')).join('|')})${SEP}`);
/** A whole first line that is a request line with any method: a token, a target, `HTTP/`, apart by any whitespace. */
// One SEP after the token, not a run: the run is part of what follows, and the match stays linear.
const REQUEST_LINE = new RegExp(`^${SEP}*${TOKEN}${SEP}[^\\n]*${SEP}HTTP/`, 'i');
/** A first line so far (its CRs included: they may end it or stand between words) that may still become one of those. */
const MAYBE_REQUEST_LINE = new RegExp(`^${SEP}*(?:${TOKEN}(?:${SEP}[^\\n]*)?)?$`);
/** Past this many bytes without the end of their first line, a flight that may be a request line is taken for one. */
const MAX_UNDECIDED_LINE = 8192;

/**
 * Which protocol bytes from a client begin, as soon as they can tell: TLS (a record of any version
 * whose type a TLS server may read first, or a ClientHello in SSL 2.0's record format), HTTP (a
 * request line's method and its space, an empty line, or a first line ending in an HTTP version
 * whatever its method), or neither; null while they could still be either (`GE`, `get /x`, or
 * `FOO /x HTTP/1.1\r` before its LF: a first line stays undecided until it ends).
 *
 * Only what can start neither is another protocol, passed to the destination unseen: llhttp (and
 * the destination's parser) skips any number of empty lines before a request line, and an OpenSSL
 * destination negotiates TLS from an SSL 2.0 ClientHello. A leading CR or LF is therefore HTTP at
 * once, for the interception's parser to read, bounded by the header timeout like any head.
 *
 * Deliberately wider than the transparent listener's requestLineStart (net/request-line-start.ts),
 * which waits for `HTTP/`: here a method and its space suffice, so that even a request line llhttp
 * would refuse (HTTP/0.9's `GET /x`, say) is served by the interception, never passed to the
 * destination undecided.
 */
export function judgeFlight(bytes: Buffer): FlightKind | null {
  const first = bytes[0];
  if (first === undefined) return null;
  if (first === CR || first === LF) return 'http';
  if (startsTlsRecord(first)) return 'tls';
  const sslv2 = startsSsl2ClientHello(bytes);
  if (sslv2 !== false) return sslv2 === null ? null : 'tls';
  const start = bytes.subarray(0, LONGEST_START);
  for (const request of REQUEST_STARTS) {
    if (start.length >= request.length && start.subarray(0, request.length).equals(request)) return 'http';
  }
  return judgeRequestLine(bytes);
}

/**
 * A first line that node:http would refuse may still be a request line that a lenient destination
 * serves: a method it does not know (`get`, `GETX`: Go's net/http takes any token), whitespace
 * before it or tabs between the words (Python's http.server splits on any whitespace). It is HTTP,
 * for the interception's parser to refuse, once it holds a known method and whitespace, or ends in
 * an HTTP version, or runs past MAX_UNDECIDED_LINE; another protocol only when it cannot be one.
 */
function judgeRequestLine(bytes: Buffer): FlightKind | null {
  const newline = bytes.indexOf(LF);
  const line = bytes.subarray(0, newline < 0 ? MAX_UNDECIDED_LINE + 1 : newline).toString('latin1');
  // The CRs that end the line so far end it (Python strips them) or, before its LF, may be words apart.
  const words = line.slice(0, endBeforeCrs(line));
  if (KNOWN_METHOD_LINE.test(words)) return 'http';
  if (newline >= 0) return REQUEST_LINE.test(words) ? 'http' : 'other';
  if (!MAYBE_REQUEST_LINE.test(line)) return 'other';
  return line.length > MAX_UNDECIDED_LINE ? 'http' : null;
}

/** Where the run of CRs ending `line` starts (its length when none do). */
function endBeforeCrs(line: string): number {
  let end = line.length;
  while (end > 0 && line.charCodeAt(end - 1) === CR) end -= 1;
  return end;
}

/**
 * What undecided bytes are taken for when no more come in time (or the client ended): the protocol
 * they started like, served as before (the TLS handshake or the HTTP parser then times out or refuses).
 */
export function likelyKind(bytes: Buffer): 'tls' | 'http' {
  return startsTlsRecord(bytes[0] ?? 0) || startsSsl2ClientHello(bytes) !== false ? 'tls' : 'http';
}

/** Whether a first byte is the content type of a TLS record some TLS server reads first (TLS_FIRST_TYPE). */
function startsTlsRecord(first: number): boolean {
  return first >= TLS_FIRST_TYPE && first <= TLS_LAST_TYPE;
}

/**
 * Reads an intercepted tunnel's first flight after its 200: until the bytes say TLS, HTTP or
 * neither (judgeFlight), for at most `waitMs` when nothing comes. `initial` holds the bytes that
 * came with and after the CONNECT. The client is left paused. Never rejects.
 */
export function readInterceptFlight(client: Socket, initial: { readonly chunks: readonly Buffer[]; readonly ended: boolean }, waitMs: number): Promise<InterceptFlight> {
  return new Promise((resolve) => {
    const chunks = initial.chunks.filter((chunk) => chunk.length > 0);
    const judged = (ended: boolean): InterceptFlight | null => {
      if (chunks.length === 0) return ended ? { kind: 'gone' } : null;
      const bytes = Buffer.concat(chunks);
      const kind = judgeFlight(bytes) ?? (ended ? likelyKind(bytes) : null);
      if (kind === null) return null;
      return kind === 'other' ? { kind, chunks, ended } : { kind, bytes };
    };
    const now = judged(initial.ended);
    if (now !== null) {
      resolve(now);
      return;
    }
    const settle = (flight: InterceptFlight): void => {
      clearTimeout(timer);
      client.off('data', onData);
      client.off('end', onEnd);
      client.off('close', onClose);
      client.pause();
      resolve(flight);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      const flight = judged(false);
      if (flight !== null) settle(flight);
    };
    const onEnd = (): void => {
      settle(judged(true) ?? { kind: 'gone' });
    };
    const onClose = (): void => {
      settle({ kind: 'gone' });
    };
    const onTimeout = (): void => {
      if (chunks.length === 0) {
        settle({ kind: 'silent' });
        return;
      }
      const bytes = Buffer.concat(chunks);
      settle({ kind: likelyKind(bytes), bytes });
    };
    const timer = setTimeout(onTimeout, waitMs);
    client.on('data', onData);
    client.once('end', onEnd);
    client.once('close', onClose);
    client.resume();
  });
}
