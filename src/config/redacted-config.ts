import { shownUrl } from './shown-url.js';
import type { ProxyConfig } from './types.js';

/** Keys whose values are secrets (or digests of secrets) wherever they appear. */
const SECRET_KEYS = new Set(['apiKey', 'sha256', 'token', 'password', 'secret']);

/**
 * The configuration as printable JSON (`check-config`): every secret replaced by "[redacted]", and
 * the control-plane URL without the userinfo, query and fragment it never sends (see shownUrl).
 */
export function redactedConfig(config: ProxyConfig): string {
  const shown: ProxyConfig = { ...config, controlPlane: { ...config.controlPlane, url: shownUrl(config.controlPlane.url) } };
  return JSON.stringify(shown, (key, value: unknown) => (SECRET_KEYS.has(key) && value !== null && value !== undefined ? '[redacted]' : value), 2);
}
