#!/usr/bin/env node
// First: V8's tiering and pretenuring are set (see runtime/tier-up.ts and runtime/pretenuring.ts),
// and only then is the rest loaded, Node's own modules included: a static import of main.js would
// load node:net and the others before this module runs, and some flags only reach the functions
// compiled after them.
//
// One flag cannot be set from here: npm start and the image run this file with
// `node --no-memory-reducer` (README, design notes), since V8 makes its idle-time heap shrinker with
// the heap. The shebang stays plain (`env -S` is not in every env, busybox's among them), so the
// bin runs without it.
import './runtime/v8-flags-now.js';

const { main } = await import('./cli/main.js');
const { flushEveryDestination, stopWaitingForStdout } = await import('./observe/destinations-at-exit.js');

/**
 * How long the log lines still held or being written may hold the exit (a slow reader of stdout: a
 * busy container runtime, a paused `| less`). It was a fixed 50 ms, after which the tail of the
 * log, the shutdown lines with it, could be lost. A reader that has not taken them by then is
 * given up on: what stdout does not take at once is dropped.
 */
const EXIT_LOG_WAIT_MS = 5_000;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => {
      stopWaitingForStdout();
      process.exit(code);
    }, EXIT_LOG_WAIT_MS).unref();
    void flushEveryDestination().then(() => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(`kaizen-proxy: fatal: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
