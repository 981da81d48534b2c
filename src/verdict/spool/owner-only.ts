import { chmod, mkdir, stat } from 'node:fs/promises';

/**
 * The spool holds agent names, targets, paths and verdicts: its directories and files are the
 * owner's alone, whatever the umask (as data_dir/observed is).
 */
export const OWNER_ONLY_DIR = 0o700;
export const OWNER_ONLY_FILE = 0o600;

/**
 * - `private`: created 0700, or already closed to others;
 * - `tightened`: it let others in (made 0755 by an older version under umask 022) and was ours: now 0700;
 * - `open`: it lets others in and could not be tightened (another owner, or chmod refused).
 */
export type OwnerOnlyDir = 'private' | 'tightened' | 'open';

/** Makes `dir` (and its missing parents) owner-only, tightening an existing one when this process owns it. */
export async function ownerOnlyDir(dir: string): Promise<OwnerOnlyDir> {
  await mkdir(dir, { recursive: true, mode: OWNER_ONLY_DIR });
  const stats = await stat(dir);
  if ((stats.mode & 0o077) === 0) return 'private';
  if (stats.uid !== process.getuid?.()) return 'open';
  try {
    await chmod(dir, OWNER_ONLY_DIR);
    return 'tightened';
  } catch {
    return 'open';
  }
}
