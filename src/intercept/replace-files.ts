import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** One file to write: its final path, its contents and its mode. */
export interface FileContent {
  readonly path: string;
  readonly data: string | Buffer;
  readonly mode: number;
}

interface Staged {
  readonly temp: string;
  readonly path: string;
}

/** What was at a path before the renames: its contents and mode, nothing, or unreadable (not put back). */
type Previous = FileContent | { readonly path: string; readonly absent: true } | null;

/**
 * Write files that must change together (a CA's key and certificate) without exposing either on
 * the way. Each is first written to a temporary file beside it, created new (O_EXCL) with its final
 * mode, so no descriptor opened on an old file, and no old file's mode, ever reaches the new
 * contents; then synced. Only when every one is on disk are they renamed over the old files, in the
 * order given, and the directory synced: the last file is the commit point, and whoever sees it new
 * sees the others new too.
 *
 * Renames are separate system calls, so no set of two or more files is swapped atomically. A rename
 * that fails puts back the files already renamed (their old contents and modes, read beforehand;
 * one that did not exist is removed again), so a reported failure leaves the old set. A crash
 * between two renames leaves the first files new and the rest old: for a CA, a new key beside the
 * old certificate, which loadCa refuses (KZP_ERR_CA_MISMATCH) and the next run replaces. The
 * temporary files such a crash leaves are removed by the next replacement of the same files.
 */
export async function replaceFiles(files: readonly FileContent[]): Promise<void> {
  await removeLeftovers(files.map((file) => file.path));
  const staged: Staged[] = [];
  try {
    for (const file of files) staged.push(await stage(file));
  } catch (error) {
    await removeTemps(staged);
    throw error;
  }
  // Only the files renamed before the last can need putting back.
  const previous = await Promise.all(files.slice(0, -1).map((file) => readPrevious(file.path)));
  let renamed = 0;
  try {
    for (const file of staged) {
      await rename(file.temp, file.path);
      renamed++;
    }
  } catch (error) {
    await removeTemps(staged.slice(renamed));
    await putBack(previous.slice(0, renamed));
    throw error;
  }
  await syncDirectories(files.map((file) => dirname(file.path)));
}

/** A temporary file beside `file.path` holding its contents with exactly its mode, synced; removed again if that fails. */
async function stage(file: FileContent): Promise<Staged> {
  const temp = join(dirname(file.path), `.${basename(file.path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', file.mode);
  try {
    try {
      // The umask may have narrowed the mode it was created with: the file gets exactly its own.
      await handle.chmod(file.mode);
      await handle.writeFile(file.data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  return { temp, path: file.path };
}

async function readPrevious(path: string): Promise<Previous> {
  try {
    const [data, info] = await Promise.all([readFile(path), stat(path)]);
    return { path, data, mode: info.mode & 0o7777 };
  } catch (error) {
    return error instanceof Error && 'code' in error && error.code === 'ENOENT' ? { path, absent: true } : null;
  }
}

/** Best effort: a file that cannot be put back stays new, as after a crash. */
async function putBack(previous: readonly Previous[]): Promise<void> {
  for (const old of previous) {
    if (old === null) continue;
    try {
      if ('absent' in old) {
        await unlink(old.path);
        continue;
      }
      const restored = await stage(old);
      try {
        await rename(restored.temp, old.path);
      } catch (error) {
        await removeTemps([restored]);
        throw error;
      }
    } catch {
      // The failure already being reported is the one the caller needs.
    }
  }
}

async function removeTemps(staged: readonly Staged[]): Promise<void> {
  await Promise.all(staged.map((file) => unlink(file.temp).catch(() => undefined)));
}

/** Temporary files of these paths (`.NAME.<12 hex>.tmp`) that an interrupted earlier run left behind. */
async function removeLeftovers(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    const dir = dirname(path);
    const prefix = `.${basename(path)}.`;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    const leftovers = names.filter((name) => name.startsWith(prefix) && /^[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length)));
    await Promise.all(leftovers.map((name) => unlink(join(dir, name)).catch(() => undefined)));
  }
}

/** The renames are durable once their directory is synced; where a directory cannot be opened for it, they are left to the system. */
async function syncDirectories(dirs: readonly string[]): Promise<void> {
  for (const dir of new Set(dirs)) {
    try {
      const handle = await open(dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch {
      // Best effort: the files themselves are written and renamed.
    }
  }
}
