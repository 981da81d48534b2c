/**
 * How often node:http (connectionsCheckingInterval) and the fast lane check header deadlines: a
 * quarter of header_timeout, so a partial head is answered 408 within a quarter of its length
 * late, between 50 ms and 1 s. Node's own default is every 30 s, whatever the timeout.
 */
export function headerCheckInterval(headerTimeoutMs: number): number {
  return Math.max(50, Math.min(1_000, Math.floor(headerTimeoutMs / 4)));
}
