import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The bundled preload (`dist/preload.cjs`, built by esbuild from preload/preload-entry.cjs) beside
 * the compiled CLI: this module runs as dist/wrap/preload-path.js. Null when it is missing (running
 * from sources without a build): the child then runs without it, and the caller says so.
 */
export function bundledPreload(base: string | URL = import.meta.url): string | null {
  const file = fileURLToPath(new URL('../preload.cjs', base));
  return existsSync(file) ? file : null;
}
