import { createProxy } from '../app/create-proxy.js';
import { formatIssues, loadConfig } from '../config/load.js';
import type { FlagOverrides } from '../config/types.js';
import { EXIT } from './exit-codes.js';
import { onShutdownSignals } from './signals.js';

/** `kaizen-proxy serve`: load, validate, listen, run until SIGTERM/SIGINT, drain, exit. */
export async function serve(flags: FlagOverrides): Promise<number> {
  const loaded = loadConfig({ flags });
  if (!loaded.ok) {
    process.stderr.write(`kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n${formatIssues(loaded.issues)}\n`);
    return EXIT.CONFIG;
  }
  let proxy;
  try {
    proxy = await createProxy(loaded.config);
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown';
    process.stderr.write(`kaizen-proxy: cannot listen on ${loaded.config.listen.host}:${loaded.config.listen.port} (${code})\n`);
    return EXIT.START;
  }
  const running = proxy;
  return new Promise<number>((resolve) => {
    onShutdownSignals((signal) => {
      running.logger.info({ signal }, 'shutdown requested');
      running.close().then(
        () => {
          resolve(EXIT.OK);
        },
        (error: unknown) => {
          running.logger.error({ err: error }, 'shutdown failed');
          resolve(EXIT.START);
        },
      );
    });
  });
}
