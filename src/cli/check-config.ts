import { interceptionCa } from '../app/interception-setup.js';
import { formatConfigFailure, loadConfig } from '../config/load.js';
import { redactedConfig } from '../config/redacted-config.js';
import type { FlagOverrides, ProxyConfig } from '../config/types.js';
import { isKaizenProxyError } from '../errors/kaizen-error.js';
import { createLogger } from '../observe/logger.js';
import { EXIT } from './exit-codes.js';

/**
 * `kaizen-proxy check-config FILE`: validate the file exactly as `serve` would (environment and
 * flags applied, and with intercept.hosts the CA in intercept.ca_dir loaded and checked) and print
 * the effective configuration as JSON, secrets redacted. Exit 0, or 1 with the errors on stderr: a
 * CA serve would refuse (exit 3) is one line with its KZP_ERR_CA_* code, exit 1 like any other
 * configuration error, so scripts read one code for "serve would not run on this". A CA serve
 * would run on but warn about (it expires within 30 days) gets serve's own warning line on stderr,
 * and exit 0.
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

/** serve's own CA check (interception-setup.ts), its warnings logged to stderr as serve logs them. */
async function interceptionCaProblem(config: ProxyConfig): Promise<string | null> {
  try {
    await interceptionCa(config, createLogger({ level: 'warn', destination: process.stderr }));
    return null;
  } catch (error) {
    if (!isKaizenProxyError(error)) throw error;
    return `kaizen-proxy: ${error.code}: ${error.message}\n`;
  }
}
