/**
 * An answer through `upstream_proxy` that carried both Transfer-Encoding and Content-Length. Our own
 * client (the direct path) reads it by its Transfer-Encoding and relays it without the length
 * (RFC 9112 §6.3); node:http's parser, which the upstream_proxy path runs on, refuses it at the end
 * of the head and destroys the socket with what it had read, and only its whole insecure parser
 * (every leniency of llhttp at once) would take it. So the answer is refused, saying which it was.
 *
 * llhttp gives it one of two codes that other failures share (HPE_INVALID_TRANSFER_ENCODING when
 * the length came first, HPE_INVALID_CONTENT_LENGTH otherwise); its reason tells them apart.
 */
export const DOUBLE_FRAMING_MESSAGE =
  'The destination answered with both Transfer-Encoding and Content-Length, which the proxy relays only straight to the destination, not through upstream_proxy.';

/** `protocol_error` on the closed line. */
export const DOUBLE_FRAMING = 'transfer_encoding_with_content_length';

const CODES: ReadonlySet<string> = new Set(['HPE_INVALID_TRANSFER_ENCODING', 'HPE_INVALID_CONTENT_LENGTH']);

/** node:http's parser refused an answer for framing it by both Transfer-Encoding and Content-Length. */
export function doubleFramed(error: unknown): boolean {
  if (typeof error !== 'object' || error === null || !('code' in error) || !('reason' in error)) return false;
  const { code, reason } = error;
  return typeof code === 'string' && CODES.has(code) && typeof reason === 'string' && reason.includes("can't be present with");
}
