import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The pip.conf files pip reads on Linux (pip's configuration.py): each XDG_CONFIG_DIRS entry's
 * pip/pip.conf (default /etc/xdg) and /etc/pip.conf, the active virtualenv's pip.conf (sys.prefix;
 * an interpreter's own prefix outside a virtualenv cannot be known without running it), the user's
 * ~/.pip/pip.conf and $XDG_CONFIG_HOME/pip/pip.conf, and PIP_CONFIG_FILE.
 */
export function pipConfigFiles(env: NodeJS.ProcessEnv): string[] {
  const home = nonEmpty(env['HOME']) ?? homedir();
  const configDirs = (nonEmpty(env['XDG_CONFIG_DIRS']) ?? '/etc/xdg').split(':').filter((dir) => dir !== '');
  const files = [...configDirs.map((dir) => join(dir, 'pip', 'pip.conf')), '/etc/pip.conf'];
  const venv = nonEmpty(env['VIRTUAL_ENV']);
  if (venv !== undefined) files.push(join(venv, 'pip.conf'));
  files.push(join(home, '.pip', 'pip.conf'), join(nonEmpty(env['XDG_CONFIG_HOME']) ?? join(home, '.config'), 'pip', 'pip.conf'));
  const explicit = nonEmpty(env['PIP_CONFIG_FILE']);
  if (explicit !== undefined) files.push(explicit);
  return files;
}

/**
 * Whether any of those files sets a non-empty `proxy` (pip's INI files: any section, `=` or `:`,
 * the key in any case). A file that cannot be read counts as none, as for pip.
 */
export function pipConfigNamesProxy(env: NodeJS.ProcessEnv, read: (file: string) => string | null = readOrNull): boolean {
  return pipConfigFiles(env).some((file) => /^proxy[ \t]*[=:][ \t]*\S/im.test(read(file) ?? ''));
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
