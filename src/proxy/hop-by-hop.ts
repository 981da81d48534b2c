import { FRAMING_FIELDS } from '../net/framing-fields.js';
import { countsHops, decrementedMaxForwards } from './max-forwards.js';
import { relayedTransferEncoding } from './response-framing.js';

/**
 * Hop-by-hop hygiene (RFC 9110 §7.6.1): headers that describe one connection never cross the proxy,
 * nor do those the sender named in `Connection`, in a head or in trailers (which lose more:
 * forwardTrailers). Headers are handled as flat raw arrays (`[name, value, name, value...]`) so
 * case, order and duplicates (Set-Cookie) pass intact.
 */
const ALWAYS_DROPPED: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  // Sent only with an h2c Upgrade, for the next hop alone (RFC 7540 §3.2.1), even when Connection omits it.
  'http2-settings',
  'proxy-authorization',
  'proxy-authenticate',
]);

const KAIZEN_PREFIX = 'x-kaizen-';

/**
 * Lower-case tokens of every `Connection` header value, or null when there is none: the fields
 * they name are removed. Never Content-Length, Transfer-Encoding or Host (framing-fields.ts): the
 * message is forwarded with the framing it was read by, whatever a token says.
 */
export function connectionTokens(rawHeaders: readonly string[]): ReadonlySet<string> | null {
  let tokens: Set<string> | null = null;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const token of (rawHeaders[i + 1] ?? '').split(',')) {
      const trimmed = token.trim().toLowerCase();
      if (trimmed !== '' && !FRAMING_FIELDS.has(trimmed)) (tokens ??= new Set()).add(trimmed);
    }
  }
  return tokens;
}

export interface RequestHeaderOptions {
  /** Value of the Host header sent upstream (the checked target, never the client's Host). */
  readonly host: string;
  /** The client sent a chunked body: keep chunked framing (and with it `Trailer`) upstream. */
  readonly chunked: boolean;
  /** The request's method: on TRACE and OPTIONS, Max-Forwards goes one less (max-forwards.ts). */
  readonly method?: string;
}

/**
 * Headers of a forwarded request: Host first, hop-by-hop and credentials for the proxy removed,
 * Max-Forwards one less on TRACE and OPTIONS (a 0 never gets here: the proxy answers it), only
 * the first field of it there (the one counted), as Squid forwards one.
 */
export function forwardRequestHeaders(rawHeaders: readonly string[], options: RequestHeaderOptions): string[] {
  const tokens = connectionTokens(rawHeaders);
  const hops = options.method !== undefined && countsHops(options.method);
  // Only the first Max-Forwards counts (isLastHop read it); later ones are dropped, as Squid does.
  let counted = false;
  const out: string[] = ['Host', options.host];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (ALWAYS_DROPPED.has(lower) || lower === 'host' || tokens?.has(lower) === true) continue;
    if (lower === 'trailer' && !options.chunked) continue;
    if (hops && lower === 'max-forwards') {
      if (!counted) out.push(name, decrementedMaxForwards(rawHeaders[i + 1] ?? ''));
      counted = true;
      continue;
    }
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  if (options.chunked) out.push('Transfer-Encoding', 'chunked');
  return out;
}

/**
 * Headers of a relayed response: hop-by-hop removed and no `X-Kaizen-*` header of the upstream's
 * own (it must not forge our decision headers), nor such a name in its `Trailer` (those trailers
 * never pass: responseTrailerPairs). `chunked` keeps `Trailer` and sends chunked
 * framing after the destination's other transfer codings, which the body still carries.
 * `transferEncoded`: the destination framed the body by Transfer-Encoding, which overrides any
 * Content-Length, and a forwarded message must lose that (RFC 9112 §6.3): it no longer describes
 * the body relayed. A Content-Length sent more than once, or as a list, goes as one: the parsers
 * (ours, llhttp) let it through only when every value is the same. `status` 204: none goes.
 */
export function forwardResponseHeaders(rawHeaders: readonly string[], chunked: boolean, transferEncoded: boolean, status?: number): string[] {
  // RFC 9110 §8.6: no Content-Length on a 204 (the destination's describes nothing relayed).
  const lengthDropped = transferEncoded || status === 204;
  const tokens = connectionTokens(rawHeaders);
  const out: string[] = [];
  let codings: string | null = null;
  let length = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (lower === 'transfer-encoding') {
      if (chunked) codings = codings === null ? (rawHeaders[i + 1] ?? '') : `${codings}, ${rawHeaders[i + 1] ?? ''}`;
      continue;
    }
    if (ALWAYS_DROPPED.has(lower) || lower.startsWith(KAIZEN_PREFIX) || tokens?.has(lower) === true) continue;
    if (lower === 'trailer') {
      const announced = chunked ? withoutKaizenNames(rawHeaders[i + 1] ?? '') : '';
      if (announced !== '') out.push(name, announced);
      continue;
    }
    if (lower === 'content-length') {
      if (lengthDropped || length) continue;
      length = true;
      out.push(name, singleLength(rawHeaders[i + 1] ?? ''));
      continue;
    }
    out.push(name, rawHeaders[i + 1] ?? '');
  }
  if (chunked) out.push('Transfer-Encoding', relayedTransferEncoding(codings));
  return out;
}

/** The first element of a Content-Length value (the parser checked they are all the same number). */
function singleLength(value: string): string {
  const comma = value.indexOf(',');
  return comma < 0 ? value : value.slice(0, comma).trimEnd();
}

/**
 * The head of a WebSocket Upgrade request (the only upgrade tunnelled: ordinary-upgrade.ts) written
 * to the destination as raw bytes: origin-form request line, Host of the checked target,
 * `Connection: Upgrade` and the client's `Upgrade: websocket` kept; other
 * hop-by-hop headers and proxy credentials removed. A chunked body (`Transfer-Encoding`, which
 * node:http let through only ending in `chunked`) is relayed as the client framed it
 * (upgrade-chunked-body.ts), so its codings and its `Trailer` go on with it.
 */
export function upgradeRequestHead(method: string, path: string, rawHeaders: readonly string[], host: string): string {
  const tokens = connectionTokens(rawHeaders);
  let head = `${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\n`;
  let codings: string | null = null;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const lower = name.toLowerCase();
    if (lower === 'upgrade') {
      head += `${name}: ${rawHeaders[i + 1] ?? ''}\r\n`;
      continue;
    }
    if (lower === 'transfer-encoding') {
      codings = codings === null ? (rawHeaders[i + 1] ?? '') : `${codings}, ${rawHeaders[i + 1] ?? ''}`;
      continue;
    }
    if (ALWAYS_DROPPED.has(lower) || lower === 'host' || (lower === 'trailer' && !hasChunkedBody(rawHeaders)) || tokens?.has(lower) === true) continue;
    head += `${name}: ${rawHeaders[i + 1] ?? ''}\r\n`;
  }
  if (codings !== null) head += `Transfer-Encoding: ${relayedTransferEncoding(codings)}\r\n`;
  return `${head}\r\n`;
}

/** Whether a request head frames its body by Transfer-Encoding (node:http took it as chunked). */
function hasChunkedBody(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i < rawHeaders.length; i += 2) if ((rawHeaders[i] ?? '').toLowerCase() === 'transfer-encoding') return true;
  return false;
}

/**
 * A `Trailer` value (a list of field names) without its `X-Kaizen-*` names, matched in any case:
 * the value as sent when it names none, the others joined by ", " when it does, '' when none is
 * left (the header then goes).
 */
export function withoutKaizenNames(value: string): string {
  if (!value.toLowerCase().includes(KAIZEN_PREFIX)) return value;
  const kept: string[] = [];
  for (const element of value.split(',')) {
    const name = element.trim();
    if (name !== '' && !name.toLowerCase().startsWith(KAIZEN_PREFIX)) kept.push(name);
  }
  return kept.join(', ');
}

/**
 * Fields a trailer section never carries across the proxy, either way. A trailer must not say what
 * only a header can (RFC 9110 §6.5.1; the list of RFC 7230 §4.1.2): framing and routing,
 * authentication and cookies, request modifiers, response controls, the content's format. And as
 * in a head, no hop-by-hop field and no credential for a proxy: a recipient that merged trailers
 * into its header section would otherwise take from the body's sender what the proxy removed.
 */
const NEVER_IN_TRAILERS: ReadonlySet<string> = new Set([
  ...ALWAYS_DROPPED,
  ...FRAMING_FIELDS,
  'trailer',
  'authorization',
  'www-authenticate',
  'proxy-authentication-info',
  'cookie',
  'set-cookie',
  'cache-control',
  'expect',
  'max-forwards',
  'pragma',
  'range',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'if-range',
  'age',
  'expires',
  'date',
  'location',
  'retry-after',
  'vary',
  'warning',
  'content-encoding',
  'content-type',
  'content-range',
]);

/**
 * The trailers of a forwarded message as a flat raw array: without NEVER_IN_TRAILERS, the fields
 * the head's `Connection` named (`rawHeaders`: the head of the same message), and, for a response
 * (`response`), any `X-Kaizen-*` field of the upstream's own, as in its head.
 */
export function forwardTrailers(rawTrailers: readonly string[], rawHeaders: readonly string[], response: boolean): string[] {
  const kept: string[] = [];
  if (rawTrailers.length === 0) return kept;
  const tokens = connectionTokens(rawHeaders);
  for (let i = 0; i + 1 < rawTrailers.length; i += 2) {
    const name = rawTrailers[i] ?? '';
    const lower = name.toLowerCase();
    if (NEVER_IN_TRAILERS.has(lower) || tokens?.has(lower) === true || (response && lower.startsWith(KAIZEN_PREFIX))) continue;
    kept.push(name, rawTrailers[i + 1] ?? '');
  }
  return kept;
}

/** Pairs for `addTrailers` from a request's raw trailers, filtered as forwardTrailers does. */
export function trailerPairs(rawTrailers: readonly string[], rawHeaders: readonly string[]): [string, string][] {
  return pairs(forwardTrailers(rawTrailers, rawHeaders, false));
}

/** Pairs for `addTrailers` from a relayed response's raw trailers, filtered as forwardTrailers does. */
export function responseTrailerPairs(rawTrailers: readonly string[], rawHeaders: readonly string[]): [string, string][] {
  return pairs(forwardTrailers(rawTrailers, rawHeaders, true));
}

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] ?? '', flat[i + 1] ?? '']);
  return out;
}
