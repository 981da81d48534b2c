/** What the exit path needs of a log destination (stdout-destination.ts). */
export interface ExitFlushable {
  /** Start writing what is held; `done` runs once it is written (or failed). */
  flush(done?: (error?: Error) => void): void;
  /** Write what is held now, synchronously, waiting out a full stdout up to `retries` times (its default when undefined). */
  flushSync(retries?: number): void;
}

/** Every destination still in use, written out once at exit (one listener for all of them). */
const live = new Set<WeakRef<ExitFlushable>>();
/** Set by stopWaitingForStdout: at exit, what a full stdout does not take at once is dropped. */
let waitAtExit = true;

process.once('exit', () => {
  for (const ref of live) ref.deref()?.flushSync(waitAtExit ? undefined : 0);
});

export function registerForExit(destination: ExitFlushable): void {
  // Destinations no longer used are forgotten here, so a process that makes many keeps few.
  for (const ref of live) if (ref.deref() === undefined) live.delete(ref);
  live.add(new WeakRef(destination));
}

/**
 * Resolves once every destination in use has written what it holds, the batch in flight included
 * (src/cli.ts waits for this, up to a deadline, before it calls process.exit). flushSync at exit
 * cannot finish a batch that a thread-pool write is still pushing into a slow reader's pipe: its
 * unwritten part was lost, and the lines written after it followed a cut line.
 */
export function flushEveryDestination(): Promise<void> {
  const destinations = [...live].map((ref) => ref.deref()).filter((destination) => destination !== undefined);
  return Promise.all(destinations.map((destination) => new Promise<void>((resolve) => {
    destination.flush(() => {
      resolve();
    });
  }))).then(() => undefined);
}

/**
 * The reader of stdout already had its time (src/cli.ts waited for flushEveryDestination): at exit,
 * write only what stdout takes at once instead of waiting on it for another 5 s.
 */
export function stopWaitingForStdout(): void {
  waitAtExit = false;
}
