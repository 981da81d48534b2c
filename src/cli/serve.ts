import { createProxy, type KaizenProxy } from '../app/create-proxy.js';
import { ListenError } from '../app/listen-error.js';
import { formatConfigFailure, loadConfig } from '../config/load.js';
import type { FlagOverrides } from '../config/types.js';
import { watchConfigFile, type ConfigWatcher } from '../config/watch-config-file.js';
import { isKaizenProxyError } from '../errors/kaizen-error.js';
import { createLogger } from '../observe/logger.js';
import { EXIT } from './exit-codes.js';
import { exitCodeOfSignal, onReloadSignal, onShutdownSignals } from './signals.js';

/**
 * `kaizen-proxy serve`: load, validate, listen, run until SIGTERM/SIGINT, drain, exit. SIGHUP and
 * a change of the config file reload it (same flags and environment as at start).
 *
 * The signal handlers go in before the start, not after it: with an API key the start waits up to
 * 5 s for the first policy sync, with the spool already open, and a signal without a handler would
 * kill the process there (143, 130, 129) with nothing logged. SIGTERM/SIGINT during the start stop
 * it before it listens (what was opened is closed, exit 0, as a graceful shutdown; the policy fetch
 * in flight is abandoned, not waited for); SIGHUP is ignored, with a log line, until the proxy
 * runs and again once it drains, where it would otherwise end the process and cut requests.
 *
 * The drain lets requests in flight and open tunnels finish, up to limits.drain_timeout from the
 * signal; a second SIGTERM/SIGINT ends it at once (what is open is cut, the rest of the shutdown
 * runs and is logged) and the exit code is then 128+signal; a third exits on the spot.
 */
export async function serve(flags: FlagOverrides): Promise<number> {
  const loaded = loadConfig({ flags });
  if (!loaded.ok) {
    process.stderr.write(formatConfigFailure(loaded));
    return EXIT.CONFIG;
  }
  const logger = createLogger({ level: loaded.config.log.level });
  const startup = new AbortController();
  // Aborted by a second SIGTERM/SIGINT (the signal is kept for the exit code): the drain ends at once.
  const hurry = new AbortController();
  const second: { signal: NodeJS.Signals | null } = { signal: null };
  let running: KaizenProxy | null = null;
  let state: 'starting' | 'running' | 'draining' = 'starting';
  let watcher: ConfigWatcher | null = null;
  let onShutdown: ((signal: NodeJS.Signals) => void) | null = null;
  const shutdown = new Promise<NodeJS.Signals>((resolve) => {
    onShutdown = resolve;
  });

  // A reload reads the file the running configuration came from, as if named with --config: a
  // default file that has since gone is a refused reload, not a silent return to the defaults.
  // Started without a file, a reload looks for the default file again, so one created since is
  // picked up (by SIGHUP: only a file present at start is watched).
  let file = loaded.config.file;
  const reload = (proxy: KaizenProxy, trigger: string): void => {
    const next = loadConfig({ flags: file === null ? flags : { ...flags, config: file }, running: true });
    if (proxy.reload(next, trigger).ok && next.ok) file = next.config.file;
  };
  onReloadSignal(() => {
    if (state === 'running' && running !== null) {
      // What this reload reads is not a change for the watcher when its event for the same edit comes.
      watcher?.reading();
      reload(running, 'SIGHUP');
    } else {
      logger.warn({ signal: 'SIGHUP', state }, state === 'starting' ? 'SIGHUP ignored: the proxy is still starting' : 'SIGHUP ignored: the proxy is shutting down');
    }
  });
  // main.ts keeps the inspector closed; the line says why nothing happened (inspector-signal.ts).
  process.on('SIGUSR1', () => {
    logger.warn({ signal: 'SIGUSR1' }, "SIGUSR1 ignored: Node's inspector stays closed in the proxy");
  });
  onShutdownSignals((signal) => {
    if (state === 'starting') {
      logger.info({ signal }, 'shutdown requested during start-up: stopping the start');
      startup.abort(new Error(`${signal} during start-up`));
    }
    state = 'draining';
    onShutdown?.(signal);
  }, (signal) => {
    logger.warn({ signal }, 'second shutdown signal: ending the drain now');
    second.signal = signal;
    hurry.abort();
  });

  try {
    running = await createProxy(loaded.config, { logger, signal: startup.signal });
  } catch (error) {
    if (startup.signal.aborted) {
      logger.info('stopped');
      return EXIT.OK;
    }
    return startFailed(error);
  }
  const proxy = running;
  if (!startup.signal.aborted) {
    state = 'running';
    watcher = file === null ? null : watchConfigFile(file, () => {
      reload(proxy, 'file change');
    });
  }
  const signal = await shutdown;
  watcher?.close();
  if (!startup.signal.aborted) logger.info({ signal }, 'shutdown requested');
  try {
    await proxy.close({ signal: hurry.signal });
    return second.signal === null ? EXIT.OK : exitCodeOfSignal(second.signal);
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    return EXIT.START;
  }
}

/** A CA that cannot be used (interception) says which and why; a listener that could not bind, which one and where. */
function startFailed(error: unknown): number {
  if (isKaizenProxyError(error)) {
    process.stderr.write(`kaizen-proxy: ${error.code}: ${error.message}\n`);
  } else if (error instanceof ListenError) {
    process.stderr.write(`kaizen-proxy: ${error.message}\n`);
  } else {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'unknown';
    process.stderr.write(`kaizen-proxy: cannot start (${code}): ${error instanceof Error ? error.message : String(error)}\n`);
  }
  return EXIT.START;
}
