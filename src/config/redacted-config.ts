import type { ProxyConfig } from './types.js';

/** Keys whose values are secrets (or digests of secrets) wherever they appear. */
const SECRET_KEYS = new Set(['apiKey', 'sha256', 'token', 'password', 'secret']);

/** The configuration as printable JSON (`check-config`): every secret replaced by "[redacted]". */
export function redactedConfig(config: ProxyConfig): string {
  return JSON.stringify(config, (key, value: unknown) => (SECRET_KEYS.has(key) && value !== null && value !== undefined ? '[redacted]' : value), 2);
}
