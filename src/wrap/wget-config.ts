import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** wget's system-wide settings, read before the user's (SYSTEM_WGETRC overrides it, as in wget). */
export const SYSTEM_WGETRC = '/etc/wgetrc';

/** What wget would read without the wrapper. */
export interface WgetSettings {
  /** The user's own settings, $WGETRC else ~/.wgetrc, as written ('' when there is none). */
  readonly userText: string;
  /** The CA file wget would trust: the last ca_certificate of the system file then the user's; null when neither sets one. */
  readonly caCertificate: string | null;
}

/**
 * wget built with GnuTLS (Debian's, Ubuntu's) ignores SSL_CERT_FILE: it trusts another CA only
 * through `ca_certificate` in a wgetrc. WGETRC replaces ~/.wgetrc (the system file is still read
 * first), and wgetrc has no include, so the child's wgetrc is a copy of the user's own, and the
 * CA file it named (or the system file named) must join the bundle that ca_certificate then
 * replaces it with. null when $WGETRC names a file that cannot be read, or ~/.wgetrc exists but
 * cannot be read: wget stops on those itself, and is left to say so.
 */
export async function readWgetSettings(parent: NodeJS.ProcessEnv, systemFile: string): Promise<WgetSettings | null> {
  const home = nonEmpty(parent['HOME']) ?? homedir();
  const explicit = nonEmpty(parent['WGETRC']);
  let userText: string;
  try {
    userText = await readFile(explicit ?? join(home, '.wgetrc'), 'utf8');
  } catch (error) {
    if (explicit !== undefined || !(error instanceof Error && 'code' in error && error.code === 'ENOENT')) return null;
    userText = '';
  }
  const systemText = await readFile(nonEmpty(parent['SYSTEM_WGETRC']) ?? systemFile, 'utf8').catch(() => '');
  const named = [...caCertificatesIn(systemText), ...caCertificatesIn(userText)].at(-1);
  return { userText, caCertificate: named === undefined ? null : expandHome(named, home) };
}

/** The child's wgetrc: the user's settings, then ca_certificate, which wins as the last one read. */
export function wgetrcWith(userText: string, bundleFile: string): string {
  const separator = userText === '' || userText.endsWith('\n') ? '' : '\n';
  return `${userText}${separator}ca_certificate = ${bundleFile}\n`;
}

/** The values of ca_certificate lines, in order; wget's names ignore case, '-' and '_'. */
function caCertificatesIn(text: string): string[] {
  const values: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const equals = line.indexOf('=');
    if (line.startsWith('#') || equals < 0) continue;
    if (line.slice(0, equals).replace(/[-_\s]/g, '').toLowerCase() === 'cacertificate') values.push(line.slice(equals + 1).trim());
  }
  return values;
}

/** wget expands a leading ~/ in file settings to the home directory. */
function expandHome(value: string, home: string): string {
  return value.startsWith('~/') ? join(home, value.slice(2)) : value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
