#!/usr/bin/env node
// First: V8's tiering and pretenuring are set before any of the proxy's code is compiled (see
// runtime/tier-up.ts and runtime/pretenuring.ts).
import './runtime/v8-flags-now.js';
import { main } from './cli/main.js';

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
