import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../observe/logger.js';
import { acquireNewSlot, tryLock, type SlotLock } from './spool-slot.js';

/** Where the spool writes now; `generation` grows each time that directory is new (nothing the spool wrote is in it). */
export interface HeldSlot {
  readonly dir: string;
  readonly generation: number;
}

/**
 * This proxy's hold on its spool slot while it runs. A data_dir removed under it (rm -rf, a wiped
 * volume) takes the slot's lock file with it: writing into the directories made again without
 * locking them first let a proxy started meanwhile take the same slot, both then writing (and
 * replaying) the same files. `hold` is asked before the spool opens a file, moves its cursor or
 * deletes a segment: the lock still ours, nothing changes; the slot directory gone, it is made again
 * and locked first; a slot another process holds now (or a directory that is no longer the one this
 * proxy locked) is left alone, said loudly (KZP_ERR_SPOOL_SLOT_TAKEN), and a new slot is taken.
 */
export interface SlotKeeper {
  readonly dir: string;
  hold(): Promise<HeldSlot>;
  /** False once the slot's lock is gone or another's (see SlotLock.held). */
  held(): Promise<boolean>;
  release(): Promise<void>;
}

export async function keepSlot(first: SlotLock, logger: Logger): Promise<SlotKeeper> {
  let lock = first;
  let inode = await inodeOf(lock.dir);
  let holding: Promise<HeldSlot> | null = null;
  let generation = 0;

  async function again(): Promise<HeldSlot> {
    if (await lock.held()) return { dir: lock.dir, generation };
    const lost = lock;
    await lost.release(); // forgets its token; the file, gone or another's, is left as it is
    const now = await inodeOf(lost.dir);
    if (now === null || now === inode) {
      // Made again here (nothing of ours in it), or ours still with only the lock file removed.
      const retaken = await tryLock(lost.dir);
      if (retaken !== null) {
        lock = retaken;
        inode = await inodeOf(lock.dir);
        const fresh = now === null;
        if (fresh) generation += 1;
        if (fresh) logger.warn({ code: 'KZP_ERR_SPOOL', dir: lock.dir }, 'spool slot directory was removed while in use: made again, its lock taken first');
        else logger.warn({ code: 'KZP_ERR_SPOOL', dir: lock.dir }, 'spool slot lock file was removed while in use: taken again');
        return { dir: lock.dir, generation };
      }
    }
    lock = await acquireNewSlot(dirname(lost.dir));
    inode = await inodeOf(lock.dir);
    logger.error(
      { code: 'KZP_ERR_SPOOL_SLOT_TAKEN', slot: lost.dir, dir: lock.dir },
      'spool slot was removed while in use and another process holds it now: not writing there; spooling in a new slot',
    );
    generation += 1;
    return { dir: lock.dir, generation };
  }

  return {
    get dir() {
      return lock.dir;
    },
    hold() {
      // One at a time: two callers must not each take a slot.
      holding ??= again().finally(() => {
        holding = null;
      });
      return holding;
    },
    held: () => lock.held(),
    release: () => lock.release(),
  };
}

async function inodeOf(dir: string): Promise<number | null> {
  try {
    return (await stat(dir)).ino;
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return null;
    throw error;
  }
}
