/**
 * Calls `onFirst` on the first SIGTERM or SIGINT (a graceful shutdown starts) and `onSecond` on
 * the second (the drain ends at once: an operator pressing Ctrl-C twice, or a supervisor that does
 * not wait). A third exits at once with 128+signal, should the shutdown itself hang.
 */
export function onShutdownSignals(onFirst: (signal: NodeJS.Signals) => void, onSecond: (signal: NodeJS.Signals) => void): void {
  let seen = 0;
  const handler = (signal: NodeJS.Signals): void => {
    seen++;
    if (seen === 1) onFirst(signal);
    else if (seen === 2) onSecond(signal);
    else process.exit(exitCodeOfSignal(signal));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

/** 128+N, as a shell reports a process ended by signal N: 130 for SIGINT, 143 for SIGTERM. */
export function exitCodeOfSignal(signal: NodeJS.Signals): number {
  return 128 + (signal === 'SIGINT' ? 2 : 15);
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
