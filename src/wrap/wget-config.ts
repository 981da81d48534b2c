import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** wget's system-wide settings, read before the user's (SYSTEM_WGETRC overrides it, as in wget). */
export const SYSTEM_WGETRC = '/etc/wgetrc';

/** What wget would read without the wrapper. */
export interface WgetSettings {
  /**
   * The user's own settings, $WGETRC else ~/.wgetrc, byte for byte (empty when there is none): a
   * wgetrc need not be UTF-8, and a header or password in Latin-1 must reach wget unchanged.
   */
  readonly userBytes: Buffer;
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
  let userBytes: Buffer;
  try {
    userBytes = await readFile(explicit ?? join(home, '.wgetrc'));
  } catch (error) {
    if (explicit !== undefined || !(error instanceof Error && 'code' in error && error.code === 'ENOENT')) return null;
    userBytes = Buffer.alloc(0);
  }
  const systemBytes = await readFile(nonEmpty(parent['SYSTEM_WGETRC']) ?? systemFile).catch(() => Buffer.alloc(0));
  const named = [...caCertificatesIn(systemBytes), ...caCertificatesIn(userBytes)].at(-1);
  return { userBytes, caCertificate: named === undefined ? null : expandHome(named, home) };
}

/** The child's wgetrc: the user's bytes unchanged, then ca_certificate, which wins as the last one read. */
export function wgetrcWith(userBytes: Buffer, bundleFile: string): Buffer {
  const separator = userBytes.length === 0 || userBytes.at(-1) === 0x0a ? '' : '\n';
  return Buffer.concat([userBytes, Buffer.from(`${separator}ca_certificate = ${bundleFile}\n`)]);
}

/**
 * The values of ca_certificate lines, in order; wget's names ignore case, '-' and '_'. Lines are
 * read as latin1 (one character per byte, so any byte survives) and trimmed of ASCII blanks only,
 * as wget does; a value goes back to its bytes and is read as UTF-8, as Node encodes a path.
 */
function caCertificatesIn(bytes: Buffer): string[] {
  const values: string[] = [];
  for (const raw of bytes.toString('latin1').split('\n')) {
    const line = asciiTrim(raw);
    const equals = line.indexOf('=');
    if (line.startsWith('#') || equals < 0) continue;
    if (line.slice(0, equals).replace(/[-_\s]/g, '').toLowerCase() !== 'cacertificate') continue;
    values.push(Buffer.from(asciiTrim(line.slice(equals + 1)), 'latin1').toString('utf8'));
  }
  return values;
}

/** String.trim() would also strip U+00A0, which is byte a0 here: part of a UTF-8 character such as 'à'. */
function asciiTrim(text: string): string {
  return text.replace(/^[ \t\r\f\v]+|[ \t\r\f\v]+$/g, '');
}

/** wget expands a leading ~/ in file settings to the home directory. */
function expandHome(value: string, home: string): string {
  return value.startsWith('~/') ? join(home, value.slice(2)) : value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
