#!/usr/bin/env -S node --no-memory-reducer
// --no-memory-reducer (also in npm start and the image): V8's idle-time heap shrinking cannot be
// turned off once the process runs, and after it the next burst cost Node 20 35-50% more CPU per
// new tunnel (`node bench/profile.mjs connrate --first latency --idle 30`).
// First: V8's tiering and pretenuring are set (see runtime/tier-up.ts and runtime/pretenuring.ts),
// and only then is the rest loaded, Node's own modules included: a static import of main.js would
// load node:net and the others before this module runs, and some flags only reach the functions
// compiled after them.
import './runtime/v8-flags-now.js';

const { main } = await import('./cli/main.js');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Let pino flush stdout before leaving; a short grace period, then exit regardless.
    setTimeout(() => process.exit(code), 50).unref();
  },
  (error: unknown) => {
    process.stderr.write(`kaizen-proxy: fatal: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
