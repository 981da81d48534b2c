import { statSync } from 'node:fs';

/** What a file gives once loaded (a missing file is loaded too: `load` decides what that means). */
export interface PolledFile<T> {
  /** The file's value now: loaded again first when it changed and it was last looked at `intervalMs` ago or more. */
  current(): T;
}

export interface PolledFileOptions {
  /** How often at most the file is looked at (one stat); 1 s by default. */
  readonly intervalMs?: number;
  /** Clock in ms (tests pass a fake one); performance.now by default. */
  readonly now?: () => number;
}

/**
 * A small system file (/etc/hosts, /etc/resolv.conf) read when it is first needed and read again
 * when it has changed, as glibc does: looked at (one stat, on the caller's thread, never on
 * libuv's pool) at most once per `intervalMs`, and loaded again when its modification time, size,
 * inode or existence differ. `load` must not throw.
 */
export function pollFile<T>(path: string, load: (path: string) => T, options: PolledFileOptions = {}): PolledFile<T> {
  const intervalMs = options.intervalMs ?? 1_000;
  const now = options.now ?? (() => performance.now());
  let value: T | undefined;
  let version: string | undefined;
  let lookedAt = -Infinity;
  return {
    current() {
      const at = now();
      if (value !== undefined && at - lookedAt < intervalMs) return value;
      lookedAt = at;
      const seen = versionOf(path);
      if (value === undefined || seen !== version) {
        version = seen;
        value = load(path);
      }
      return value;
    },
  };
}

/** What tells one content of the file from the next without reading it; 'missing' when it cannot be looked at. */
function versionOf(path: string): string {
  try {
    const stat = statSync(path, { bigint: true });
    return `${String(stat.ino)}:${String(stat.size)}:${String(stat.mtimeNs)}:${String(stat.ctimeNs)}`;
  } catch {
    return 'missing';
  }
}
