/**
 * Whether the first bytes of a connection begin an HTTP/1 request line (RFC 9112 §3):
 * `method SP request-target SP HTTP/`, the method a token. Pure and incremental: hand it every byte
 * received so far; it answers as soon as they cannot be one (`not_http`: SSH's `SSH-2.0-...\r\n`,
 * an inline Redis `PING\r\n` or `SET k v\r\n`), or once `HTTP/` has come (`http`), and otherwise
 * asks for more. What it takes is then node:http's to parse (and to answer 400 when llhttp does
 * not take it), so it accepts more than llhttp does (any token as a method, bytes past ASCII in a
 * target), never less (llhttp also takes repeated spaces between the parts).
 */
export type RequestLineStart = 'http' | 'not_http' | 'need_more';

const SP = 0x20;
const VERSION = 'HTTP/';

/** tchar (RFC 9110 §5.6.2): the characters of a method. */
function isTokenChar(c: number): boolean {
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return true;
  switch (c) {
    case 0x21: // !
    case 0x23: // #
    case 0x24: // $
    case 0x25: // %
    case 0x26: // &
    case 0x27: // '
    case 0x2a: // *
    case 0x2b: // +
    case 0x2d: // -
    case 0x2e: // .
    case 0x5e: // ^
    case 0x5f: // _
    case 0x60: // `
    case 0x7c: // |
    case 0x7e: // ~
      return true;
    default:
      return false;
  }
}

/** A request-target byte: visible ASCII, or a byte past it (llhttp answers those 400 itself). */
function isTargetChar(c: number): boolean {
  return (c > SP && c < 0x7f) || c >= 0x80;
}

export function requestLineStart(bytes: Uint8Array): RequestLineStart {
  const end = bytes.length;
  let i = 0;
  while (i < end && isTokenChar(bytes[i] ?? 0)) i++;
  if (i === end) return 'need_more';
  if (i === 0 || bytes[i] !== SP) return 'not_http';
  while (i < end && bytes[i] === SP) i++;
  const target = i;
  while (i < end && isTargetChar(bytes[i] ?? 0)) i++;
  if (i === end) return 'need_more';
  if (i === target || bytes[i] !== SP) return 'not_http';
  while (i < end && bytes[i] === SP) i++;
  for (let k = 0; k < VERSION.length; k++, i++) {
    if (i === end) return 'need_more';
    if (bytes[i] !== VERSION.charCodeAt(k)) return 'not_http';
  }
  return 'http';
}
