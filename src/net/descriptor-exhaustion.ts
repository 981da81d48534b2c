/**
 * EMFILE (this process reached its RLIMIT_NOFILE) or ENFILE (the system's file table is full):
 * the proxy ran out of descriptors. On a dial it is the proxy's own limit, never the
 * destination's failure: answered 503 KZP_ERR_LIMIT_CONNECTIONS like max_connections.
 */
export type Exhaustion = 'EMFILE' | 'ENFILE';

/** Which exhaustion `error` reports (its `code`), or null when it is another failure. */
export function descriptorExhaustion(error: unknown): Exhaustion | null {
  if (typeof error !== 'object' || error === null || !('code' in error)) return null;
  const code = error.code;
  return code === 'EMFILE' || code === 'ENFILE' ? code : null;
}
