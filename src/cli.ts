#!/usr/bin/env node
// First: V8's tiering is set before any of the proxy's code is compiled (see runtime/tier-up.ts).
import './runtime/tier-up-now.js';
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
