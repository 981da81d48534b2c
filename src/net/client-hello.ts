/**
 * Reads the server name (SNI) from the first bytes of a TLS connection, without terminating TLS.
 * Pure and incremental: hand it everything received so far; it answers "need more", the name (or
 * none), or why the bytes are not a ClientHello. The handshake message may span several records,
 * with warning alerts before or between them: Go's crypto/tls server drops those (up to 16) until
 * it has negotiated a version, and reads the ClientHello around them.
 */
export type ClientHelloParse =
  | { readonly complete: false }
  | { readonly complete: true; readonly ok: true; readonly sni: string | undefined }
  | { readonly complete: true; readonly ok: false; readonly reason: string };

const CONTENT_HANDSHAKE = 0x16;
const CONTENT_ALERT = 0x15;
const ALERT_LEVEL_WARNING = 0x01;
const ALERT_CLOSE_NOTIFY = 0x00;
/** An alert record: its header and the two bytes of one alert (level, description). */
const ALERT_RECORD = 7;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXTENSION_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;
const RECORD_HEADER = 5;
/** A ClientHello with post-quantum key shares is 2-3 KB; anything past this is not one we accept. */
export const MAX_CLIENT_HELLO_BYTES = 64 * 1024;

const NEED_MORE: ClientHelloParse = { complete: false };

function invalid(reason: string): ClientHelloParse {
  return { complete: true, ok: false, reason };
}

/** True when the first byte could start a TLS handshake record (what transparent mode sniffs). */
export function looksLikeTls(first: number): boolean {
  return first === CONTENT_HANDSHAKE;
}

/**
 * True when the first byte starts a record a TLS server may read before the ClientHello: a
 * handshake, or an alert (a warning Go's server drops and reads on from). What a tunnel's SNI check
 * must read as TLS; parseClientHello then refuses what is not a ClientHello behind warnings.
 */
export function mayPrecedeClientHello(first: number): boolean {
  return first === CONTENT_HANDSHAKE || first === CONTENT_ALERT;
}

/** SSL 2.0's 2-byte record header: the record length with its high bit set. */
const SSL2_LENGTH_BIT = 0x80;
const SSL2_CLIENT_HELLO = 0x01;

/**
 * Whether bytes begin a ClientHello in SSL 2.0's record format (RFC 5246 appendix E.2): a 2-byte
 * header whose high bit is set, then CLIENT-HELLO. Clients once sent TLS's first ClientHello so, and
 * OpenSSL servers before 3.0 (3.x at security level 0) still negotiate TLS from it, whatever
 * version it names: only a TLS server may answer it. null while fewer than 3 bytes leave it open.
 * It carries no extensions (no SNI): parseClientHello refuses it.
 */
export function startsSsl2ClientHello(bytes: Uint8Array): boolean | null {
  const first = bytes[0];
  if (first === undefined) return null;
  if ((first & SSL2_LENGTH_BIT) === 0) return false;
  const type = bytes[2];
  return type === undefined ? null : type === SSL2_CLIENT_HELLO;
}

export function parseClientHello(data: Buffer): ClientHelloParse {
  const handshake = handshakeBytes(data);
  if (!Buffer.isBuffer(handshake)) return handshake;
  if (handshake.length < 4) return NEED_MORE;
  if (handshake[0] !== HANDSHAKE_CLIENT_HELLO) return invalid('first handshake message is not a ClientHello');
  const length = handshake.readUIntBE(1, 3);
  if (length > MAX_CLIENT_HELLO_BYTES) return invalid('ClientHello too large');
  if (handshake.length < 4 + length) return NEED_MORE;
  return readHello(handshake.subarray(4, 4 + length));
}

/**
 * The handshake-layer bytes carried by the leading handshake records (joined when there are
 * several), warning alerts before and between them skipped as a TLS server skips them.
 */
function handshakeBytes(data: Buffer): Buffer | ClientHelloParse {
  const parts: Buffer[] = [];
  let offset = 0;
  let total = 0;
  while (offset < data.length) {
    if (data[offset] === CONTENT_ALERT) {
      if (data.length - offset < ALERT_RECORD) break;
      // Any other alert ends the handshake for the server: nothing after it is read.
      if (!isWarningAlert(data, offset)) return total === 0 ? invalid('a TLS alert before the ClientHello that is not a warning') : Buffer.concat(parts, total);
      offset += ALERT_RECORD;
      continue;
    }
    if (data[offset] !== CONTENT_HANDSHAKE) {
      return total === 0 ? invalid('not a TLS handshake record') : Buffer.concat(parts, total);
    }
    if (data.length - offset < RECORD_HEADER) break;
    if (data[offset + 1] !== 0x03) return invalid('unknown TLS record version');
    const length = data.readUInt16BE(offset + 3);
    if (length === 0) return invalid('empty TLS record');
    const body = data.subarray(offset + RECORD_HEADER, Math.min(data.length, offset + RECORD_HEADER + length));
    parts.push(body);
    total += body.length;
    if (total > MAX_CLIENT_HELLO_BYTES + 4) return invalid('ClientHello too large');
    if (body.length < length) break;
    offset += RECORD_HEADER + length;
  }
  if (total === 0) return NEED_MORE;
  return Buffer.concat(parts, total);
}

/**
 * Whether the alert record at `offset` is one warning a server drops before the handshake: TLS
 * record version, a length of 2, warning level, not close_notify (which ends the connection).
 */
function isWarningAlert(data: Buffer, offset: number): boolean {
  return (
    data[offset + 1] === 0x03 &&
    data.readUInt16BE(offset + 3) === 2 &&
    data[offset + 5] === ALERT_LEVEL_WARNING &&
    data[offset + 6] !== ALERT_CLOSE_NOTIFY
  );
}

/** Walks a complete ClientHello body to its server_name extension. */
function readHello(hello: Buffer): ClientHelloParse {
  let at = 2 + 32; // legacy_version, random
  const sessionId = byteAt(hello, at);
  if (sessionId === undefined || sessionId > 32) return invalid('malformed ClientHello (session id)');
  at += 1 + sessionId;
  if (at + 2 > hello.length) return invalid('malformed ClientHello (cipher suites)');
  at += 2 + hello.readUInt16BE(at);
  const compression = byteAt(hello, at);
  if (compression === undefined) return invalid('malformed ClientHello (compression)');
  at += 1 + compression;
  if (at === hello.length) return { complete: true, ok: true, sni: undefined };
  if (at + 2 > hello.length) return invalid('malformed ClientHello (extensions)');
  const end = at + 2 + hello.readUInt16BE(at);
  if (end > hello.length) return invalid('malformed ClientHello (extensions length)');
  at += 2;
  while (at + 4 <= end) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    at += 4;
    if (at + length > end) return invalid('malformed ClientHello (extension length)');
    if (type === EXTENSION_SERVER_NAME) return readServerName(hello.subarray(at, at + length));
    at += length;
  }
  return { complete: true, ok: true, sni: undefined };
}

function readServerName(extension: Buffer): ClientHelloParse {
  if (extension.length < 2) return invalid('malformed server_name extension');
  const end = Math.min(extension.length, 2 + extension.readUInt16BE(0));
  let at = 2;
  while (at + 3 <= end) {
    const type = extension[at];
    const length = extension.readUInt16BE(at + 1);
    at += 3;
    if (at + length > end) return invalid('malformed server_name entry');
    if (type === NAME_TYPE_HOST) {
      const name = extension.subarray(at, at + length);
      // RFC 6066: ASCII only, no trailing dot required; anything else is refused, never guessed at.
      for (const byte of name) if (byte <= 0x20 || byte >= 0x7f) return invalid('server name is not printable ASCII');
      return length === 0 ? invalid('empty server name') : { complete: true, ok: true, sni: name.toString('latin1') };
    }
    at += length;
  }
  return { complete: true, ok: true, sni: undefined };
}

function byteAt(buffer: Buffer, index: number): number | undefined {
  return index < buffer.length ? buffer[index] : undefined;
}
