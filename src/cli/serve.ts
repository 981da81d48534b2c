import { createProxy } from '../app/create-proxy.js';
import { ListenError } from '../app/listen-error.js';
import { formatConfigFailure, loadConfig } from '../config/load.js';
import type { FlagOverrides } from '../config/types.js';
import { watchConfigFile } from '../config/watch-config-file.js';
import { isKaizenProxyError } from '../errors/kaizen-error.js';
import { EXIT } from './exit-codes.js';
import { onReloadSignal, onShutdownSignals } from './signals.js';

/**
 * `kaizen-proxy serve`: load, validate, listen, run until SIGTERM/SIGINT, drain, exit. SIGHUP and
 * a change of the config file reload it (same flags and environment as at start).
 */
export async function serve(flags: FlagOverrides): Promise<number> {
  const loaded = loadConfig({ flags });
  if (!loaded.ok) {
    process.stderr.write(formatConfigFailure(loaded));
    return EXIT.CONFIG;
  }
  let proxy;
  try {
    proxy = await createProxy(loaded.config);
  } catch (error) {
    // A CA that cannot be used (interception) says which and why; a listener that could not bind
    // says which one and where.
    if (isKaizenProxyError(error)) {
      process.stderr.write(`kaizen-proxy: ${error.code}: ${error.message}\n`);
      return EXIT.START;
    }
    if (error instanceof ListenError) {
      process.stderr.write(`kaizen-proxy: ${error.message}\n`);
      return EXIT.START;
    }
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown';
    process.stderr.write(`kaizen-proxy: cannot start (${code}): ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.START;
  }
  const running = proxy;
  // A reload reads the file the running configuration came from, as if named with --config: a
  // default file that has since gone is a refused reload, not a silent return to the defaults.
  // Started without a file, a reload looks for the default file again, so one created since is
  // picked up (by SIGHUP: only a file present at start is watched).
  let file = loaded.config.file;
  const reload = (trigger: string): void => {
    const next = loadConfig({ flags: file === null ? flags : { ...flags, config: file } });
    if (running.reload(next, trigger).ok && next.ok) file = next.config.file;
  };
  const stopSignal = onReloadSignal(() => {
    reload('SIGHUP');
  });
  const watcher = loaded.config.file === null ? null : watchConfigFile(loaded.config.file, () => {
    reload('file change');
  });
  return new Promise<number>((resolve) => {
    onShutdownSignals((signal) => {
      stopSignal();
      watcher?.close();
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
