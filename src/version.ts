import { readFileSync } from 'node:fs';

/** The package version, read once from package.json beside dist/ (or the repo root in tests). */
export const VERSION: string = readVersion();

function readVersion(): string {
  try {
    const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && 'version' in parsed && typeof parsed.version === 'string') {
      return parsed.version;
    }
  } catch {
    // fall through: a missing package.json must not stop the proxy
  }
  return '0.0.0';
}
