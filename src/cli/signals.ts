/**
 * Calls `onFirst` on the first SIGTERM or SIGINT; a second signal while draining exits at once
 * with 128+signal, as an operator pressing Ctrl-C twice expects.
 */
export function onShutdownSignals(onFirst: (signal: NodeJS.Signals) => void): void {
  let seen = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (seen) {
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    }
    seen = true;
    onFirst(signal);
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** Calls `onReload` on every SIGHUP (configuration reload); returns a function that stops listening. */
export function onReloadSignal(onReload: () => void): () => void {
  const handler = (): void => {
    onReload();
  };
  process.on('SIGHUP', handler);
  return () => {
    process.off('SIGHUP', handler);
  };
}
