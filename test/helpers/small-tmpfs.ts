import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A launcher (for startServe) that runs the process in a mount namespace of its own with a tmpfs
 * of `sizeKb` mounted on `dir` (an existing directory): a small file system to fill up under a
 * running proxy, which nothing else on the machine sees. Needs root (unshare, mount).
 */
export function onSmallTmpfs(dir: string, sizeKb: number): (argv: readonly string[]) => readonly string[] {
  return (argv) => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=${String(sizeKb)}k,mode=0700 tmpfs "$0" && exec "$@"`, dir, ...argv];
}

/** `dir` as the process `pid` sees it: inside its mount namespace (its tmpfs). */
export function seenBy(pid: number, dir: string): string {
  return join(`/proc/${String(pid)}/root`, dir);
}

const FILLER = 'filler';

/** Fills the tmpfs on `dir` of process `pid` to the last page (ENOSPC for every later write). */
export function fillUp(pid: number, dir: string): void {
  try {
    writeFileSync(join(seenBy(pid, dir), FILLER), Buffer.alloc(64 * 1024 * 1024));
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOSPC')) throw error;
  }
}

/** Frees what fillUp took. */
export function freeUp(pid: number, dir: string): void {
  rmSync(join(seenBy(pid, dir), FILLER), { force: true });
}

/** CPU seconds (user + system, every thread) process `pid` has used so far (Linux /proc). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
