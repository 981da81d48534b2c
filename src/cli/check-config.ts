import { formatConfigFailure, loadConfig } from '../config/load.js';
import { redactedConfig } from '../config/redacted-config.js';
import type { FlagOverrides } from '../config/types.js';
import { EXIT } from './exit-codes.js';

/**
 * `kaizen-proxy check-config FILE`: validate the file exactly as `serve` would (environment and
 * flags applied) and print the effective configuration as JSON, secrets redacted. Exit 0, or 1
 * with every error on stderr.
 */
export function checkConfig(flags: FlagOverrides): Promise<number> {
  const loaded = loadConfig({ flags });
  if (!loaded.ok) {
    process.stderr.write(formatConfigFailure(loaded));
    return Promise.resolve(EXIT.CONFIG);
  }
  process.stdout.write(`${redactedConfig(loaded.config)}\n`);
  return Promise.resolve(EXIT.OK);
}
