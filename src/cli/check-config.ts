import { formatConfigFailure, loadConfig } from '../config/load.js';
import { redactedConfig } from '../config/redacted-config.js';
import type { FlagOverrides, ProxyConfig } from '../config/types.js';
import { isKaizenProxyError } from '../errors/kaizen-error.js';
import { loadCa } from '../intercept/ca-load.js';
import { EXIT } from './exit-codes.js';

/**
 * `kaizen-proxy check-config FILE`: validate the file exactly as `serve` would (environment and
 * flags applied, and with intercept.hosts the CA in intercept.ca_dir loaded and checked) and print
 * the effective configuration as JSON, secrets redacted. Exit 0, or 1 with the errors on stderr: a
 * CA serve would refuse (exit 3) is one line with its KZP_ERR_CA_* code, exit 1 like any other
 * configuration error, so scripts read one code for "serve would not run on this".
 */
export async function checkConfig(flags: FlagOverrides): Promise<number> {
  const loaded = loadConfig({ flags });
  if (!loaded.ok) {
    process.stderr.write(formatConfigFailure(loaded));
    return EXIT.CONFIG;
  }
  const caProblem = await interceptionCaProblem(loaded.config);
  if (caProblem !== null) {
    process.stderr.write(caProblem);
    return EXIT.CONFIG;
  }
  process.stdout.write(`${redactedConfig(loaded.config)}\n`);
  return EXIT.OK;
}

/** As serve's start (interception-setup.ts): the CA is loaded only when intercept.hosts names a host. */
async function interceptionCaProblem(config: ProxyConfig): Promise<string | null> {
  if (config.intercept.hosts.length === 0) return null;
  try {
    await loadCa(config.intercept.caDir);
    return null;
  } catch (error) {
    if (!isKaizenProxyError(error)) throw error;
    return `kaizen-proxy: ${error.code}: ${error.message}\n`;
  }
}
