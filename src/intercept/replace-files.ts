import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** One file to write: its final path, its contents and its mode. */
export interface FileContent {
  readonly path: string;
  readonly data: string;
  readonly mode: number;
}

/**
 * Write files that must change together (a CA's key and certificate) without exposing either on
 * the way. Each is first written to a temporary file beside it, created new (O_EXCL) with its final
 * mode, so no descriptor opened on an old file, and no old file's mode, ever reaches the new
 * contents; then synced. Only when every one is on disk are they renamed over the old files, and
 * the directory synced. A failure before the renames leaves the old files as they were; the renames
 * are separate system calls, so a crash between them can still leave a new key beside an old
 * certificate, which loadCa refuses (KZP_ERR_CA_MISMATCH). Temporary files are removed on failure.
 */
export async function replaceFiles(files: readonly FileContent[]): Promise<void> {
  const staged: { readonly temp: string; readonly path: string }[] = [];
  try {
    for (const file of files) {
      const temp = join(dirname(file.path), `.${basename(file.path)}.${randomBytes(6).toString('hex')}.tmp`);
      const handle = await open(temp, 'wx', file.mode);
      staged.push({ temp, path: file.path });
      try {
        // The umask may have narrowed the mode it was created with: the file gets exactly its own.
        await handle.chmod(file.mode);
        await handle.writeFile(file.data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const file of staged) await rename(file.temp, file.path);
  } catch (error) {
    // Those already renamed are gone under their temporary names (ENOENT, ignored).
    await Promise.all(staged.map((file) => unlink(file.temp).catch(() => undefined)));
    throw error;
  }
  await syncDirectories(files.map((file) => dirname(file.path)));
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
