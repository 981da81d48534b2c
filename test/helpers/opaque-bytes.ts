import { randomBytes } from 'node:crypto';

/**
 * `length` random bytes for a tunnel's first flight that never open with 0x16, a TLS handshake
 * record: the proxy reads such a first flight as a ClientHello (src/proxy/client-hello-gate.ts) and
 * refuses one that does not parse with a TLS alert, so plain random bytes failed one run in 256.
 */
export function opaqueBytes(length: number): Buffer {
  const bytes = randomBytes(length);
  if (bytes[0] === 0x16) bytes[0] = 0x17;
  return bytes;
}
