import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OWNER_ONLY_DIR, OWNER_ONLY_FILE } from './owner-only.js';

/**
 * Where one proxy's spool lives, and who owns it. Entries belong to one control plane and one API
 * key (replaying them anywhere else would hand one tenant's actions to another), so each pair gets
 * its own partition, named by a hash. Inside it, a proxy owns a `slot-N` directory through a lock
 * file holding its pid, its start time and a token: two proxies sharing a data_dir (two wrapped
 * commands, two proxies in one test process) never write the same files, and a slot whose owner
 * died (kill -9, a restarted container reusing the pid) is taken over.
 */
const MAX_SLOTS = 64;
const LOCK = 'lock';

/** Tokens of the locks this process holds: a lock with our pid but another token is stale. */
const heldHere = new Set<string>();

export interface SlotLock {
  readonly dir: string;
  /** False once the lock file is gone (removed with data_dir) or is another process's. */
  held(): Promise<boolean>;
  release(): Promise<void>;
}

export function partitionDir(dataDir: string, controlPlaneUrl: string, apiKey: string): string {
  const digest = createHash('sha256').update(`kaizen-proxy spool v1\n${controlPlaneUrl}\n${apiKey}`).digest('hex').slice(0, 16);
  return join(dataDir, 'spool', digest);
}

/** The first free (or abandoned) slot of the partition, locked. Rejects when every slot is held or the disk refuses. */
export async function acquireSlot(partition: string): Promise<SlotLock> {
  await mkdir(partition, { recursive: true, mode: OWNER_ONLY_DIR });
  for (let slot = 0; slot < MAX_SLOTS; slot += 1) {
    const lock = await tryLock(join(partition, `slot-${slot}`));
    if (lock !== null) return lock;
  }
  throw new Error(`all ${MAX_SLOTS} spool slots of ${partition} are held by running proxies`);
}

/** A slot directory this call creates (so nothing is in it but its lock), locked. Rejects when every slot exists. */
export async function acquireNewSlot(partition: string): Promise<SlotLock> {
  await mkdir(partition, { recursive: true, mode: OWNER_ONLY_DIR });
  for (let slot = 0; slot < MAX_SLOTS; slot += 1) {
    const dir = join(partition, `slot-${slot}`);
    try {
      await mkdir(dir, { mode: OWNER_ONLY_DIR });
    } catch (error) {
      if (isCode(error, 'EEXIST')) continue;
      throw error;
    }
    const lock = await tryLock(dir);
    if (lock !== null) return lock;
  }
  throw new Error(`all ${MAX_SLOTS} spool slots of ${partition} are in use`);
}

/** Slots of the partition other than `own` whose owner is gone, now locked by us (to adopt their entries). */
export async function claimAbandoned(partition: string, own: string): Promise<SlotLock[]> {
  const claimed: SlotLock[] = [];
  for (const name of await readdir(partition)) {
    const dir = join(partition, name);
    if (!/^slot-\d+$/.test(name) || dir === own) continue;
    const lock = await tryLock(dir);
    if (lock !== null) claimed.push(lock);
  }
  return claimed;
}

/** The lock of `dir` (made if missing), or null while a running process holds it. */
export async function tryLock(dir: string): Promise<SlotLock | null> {
  // A proxy closing with an empty spool removes its slot directory: if that happens under us, again.
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await tryLockOnce(dir);
    } catch (error) {
      if (!isCode(error, 'ENOENT') || attempt >= 3) throw error;
    }
  }
}

async function tryLockOnce(dir: string): Promise<SlotLock | null> {
  await mkdir(dir, { recursive: true, mode: OWNER_ONLY_DIR });
  const token = randomUUID();
  const lockPath = join(dir, LOCK);
  const temp = join(dir, `${LOCK}.${token}`);
  await writeFile(temp, `${process.pid} ${startTimeOf(process.pid) ?? '-'} ${token}\n`, { mode: OWNER_ONLY_FILE });
  try {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        // link() fails when the lock exists: creation and content are one atomic step.
        await link(temp, lockPath);
        heldHere.add(token);
        return { dir, held: () => holds(lockPath, token), release: () => release(lockPath, token) };
      } catch (error) {
        if (!isCode(error, 'EEXIST')) throw error;
      }
      if (await holderAlive(lockPath)) return null;
      // Only one contender can move the stale lock aside; the others see ENOENT and try again.
      const aside = `${lockPath}.stale.${token}`;
      try {
        await rename(lockPath, aside);
        await rm(aside, { force: true });
      } catch (error) {
        if (!isCode(error, 'ENOENT')) throw error;
      }
    }
    return null;
  } finally {
    await rm(temp, { force: true });
  }
}

async function holds(lockPath: string, token: string): Promise<boolean> {
  try {
    const [, , holder] = (await readFile(lockPath, 'utf8')).trim().split(' ');
    return holder === token;
  } catch {
    return false;
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  heldHere.delete(token);
  try {
    const [, , holder] = (await readFile(lockPath, 'utf8')).trim().split(' ');
    if (holder === token) await unlink(lockPath);
  } catch {
    // Already gone (the slot was adopted and removed): nothing to release.
  }
}

async function holderAlive(lockPath: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT')) return false;
    throw error;
  }
  const [pidText, started, token] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0 || token === undefined) return false;
  if (pid === process.pid) return heldHere.has(token);
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (!isCode(error, 'EPERM')) return false;
  }
  // The pid is taken; by the same process only if it started at the same time (pids are reused).
  const now = startTimeOf(pid);
  return started === undefined || started === '-' || now === null || now === started;
}

/** Start time of a process in clock ticks since boot (Linux /proc), or null where unknown. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
