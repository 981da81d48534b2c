import { createHash } from 'node:crypto';
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { MAX_CONFIG_FILE_BYTES, readRegularFileHead } from './read-config-file.js';

export interface ConfigWatcher {
  /**
   * The file is about to be read by a reload of another trigger (SIGHUP): what it holds now is no
   * longer a change, so the watcher does not load it again when its own event comes. Taken before
   * that read, so a change written during or after it is still seen.
   */
  reading(): void;
  close(): void;
}

/**
 * Calls `onChange` when the configuration file's content changes. Watches the file and its
 * directory: Kubernetes updates a mounted ConfigMap by swapping a `..data` symlink, which only the
 * directory sees, and editors replace files by rename, which leaves a file watch on the old inode.
 * Events are debounced, and only a change of content (SHA-256) counts, so a touch or an unrelated
 * file in the directory does nothing, nor does content a SIGHUP reload already read (`reading`).
 * Watchers never keep the process alive.
 */
export function watchConfigFile(file: string, onChange: () => void, debounceMs = 200): ConfigWatcher {
  let last = digest(file);
  let timer: NodeJS.Timeout | null = null;
  let fileWatcher: FSWatcher | null = null;
  let watchedInode: number | null = null;
  let closed = false;

  const check = (): void => {
    timer = null;
    if (closed) return;
    if (inodeOf(file) !== watchedInode) watchFile(); // re-arm on a new inode (rename, symlink swap) only
    const now = digest(file);
    if (now === null || now === last) return; // gone for a moment (mid-swap) or unchanged
    last = now;
    onChange();
  };
  const poke = (): void => {
    if (closed) return;
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(check, debounceMs);
    timer.unref();
  };
  // Closing and re-adding a watch on the same inode can lose the new watch to the old one's late
  // IN_IGNORED in libuv, so the file is watched again only when it is another inode.
  function watchFile(): void {
    fileWatcher?.close();
    watchedInode = inodeOf(file);
    fileWatcher = tryWatch(file, poke);
  }

  const name = basename(file);
  const directoryWatcher = tryWatch(dirname(file), (changed) => {
    // A changed name is ours, a `..data`-style swap, or unknown (null on some platforms).
    if (changed === null || changed === name || changed.startsWith('..')) poke();
  });
  watchFile();

  return {
    reading() {
      if (closed) return;
      const now = digest(file);
      // Gone for a moment: the reload refuses it, and the content back later is compared as before.
      if (now !== null) last = now;
    },
    close() {
      closed = true;
      if (timer !== null) clearTimeout(timer);
      fileWatcher?.close();
      directoryWatcher?.close();
    },
  };
}

function tryWatch(path: string, listener: (name: string | null) => void): FSWatcher | null {
  try {
    const watcher = watch(path, { persistent: false }, (_event, changed) => {
      listener(changed);
    });
    watcher.on('error', () => undefined);
    return watcher;
  } catch {
    return null;
  }
}

function inodeOf(file: string): number | null {
  try {
    return statSync(file).ino;
  } catch {
    return null;
  }
}

/**
 * The content's digest, read no further than the loader reads (one byte past the cap), with the
 * size: an oversized file is refused whatever it holds, so a change past the cap that keeps the
 * size is the only one not seen, and it would be refused too. What is not a regular file (a FIFO
 * put in its place) is not opened to wait or read: it is a change, which the reload refuses.
 */
function digest(file: string): string | null {
  try {
    const head = readRegularFileHead(file, MAX_CONFIG_FILE_BYTES + 1);
    if (head === null) return 'not a regular file';
    const { bytes, size } = head;
    return createHash('sha256').update(bytes).update(`\0${String(size)}`).digest('hex');
  } catch {
    return null;
  }
}
