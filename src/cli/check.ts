import { checkTarget } from '../app/check-target.js';
import { formatConfigFailure, loadConfig } from '../config/load.js';
import type { FlagOverrides } from '../config/types.js';
import { createLogger } from '../observe/logger.js';

/** Exit codes of `kaizen-proxy check`: its own contract, so scripts can branch on the verdict. */
const CHECK_EXIT = { ALLOW: 0, BLOCK: 1, ERROR: 2 } as const;

/**
 * `kaizen-proxy check TARGET [--method M]`: the verdict the running configuration would give, as
 * one JSON object on stdout. Exit 0 allow, 1 block, 2 error (invalid configuration or target, or
 * an allowed target that does not resolve). Warnings (a failed policy sync...) go to stderr.
 */
export async function check(flags: FlagOverrides, target: string, method: string | null): Promise<number> {
  const loaded = loadConfig({ flags });
  if (!loaded.ok) {
    process.stderr.write(formatConfigFailure(loaded));
    return CHECK_EXIT.ERROR;
  }
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  const outcome = await checkTarget(loaded.config, target, method, logger);
  if (outcome.kind === 'invalid') {
    process.stderr.write(`kaizen-proxy: ${outcome.message}\n`);
    return CHECK_EXIT.ERROR;
  }
  process.stdout.write(`${JSON.stringify(outcome.report, null, 2)}\n`);
  switch (outcome.verdict) {
    case 'allow':
      return CHECK_EXIT.ALLOW;
    case 'block':
      return CHECK_EXIT.BLOCK;
    case 'unreachable':
      return CHECK_EXIT.ERROR;
  }
}
