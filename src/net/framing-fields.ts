/**
 * Fields a `Connection` option may not name: the message's framing and its Host. RFC 9110 §7.6.1
 * forbids a sender to list a field meant for every recipient, and these describe the message
 * itself: an intermediary that dropped Content-Length as hop-by-hop would forward the body with
 * nothing to delimit it, and the next hop on a keep-alive connection would read it as a request of
 * its own (smuggling). The proxy refuses a request naming one (src/proxy/request-framing.ts), and
 * never removes them for such a token anyway (src/proxy/hop-by-hop.ts), responses included.
 */
export const FRAMING_FIELDS: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'host']);

/** The first framing field a `Connection` value names (lower-case), or null. */
export function namedFramingField(connection: string): string | null {
  for (const element of connection.split(',')) {
    const token = element.trim().toLowerCase();
    if (FRAMING_FIELDS.has(token)) return token;
  }
  return null;
}
